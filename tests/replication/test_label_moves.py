"""A label moved from one return to another in one upstream import (both records in one feed
page) is applied at the station; checking each record against the state before the page would
refuse it for good and wedge the feed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.operators import Role
from tests.api.conftest import MANIFEST, OPERATORS, sign_in
from tests.replication.conftest import SITE, STATION, write_token
from tests.replication.test_hub_replication import (
    hub_with_upstream,
    returns_at,
    station_vkey,
    wait_for,
)
from tests.replication.upstream_process import UpstreamProcess


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_label_moved_between_returns_in_one_page_is_applied(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    first = MANIFEST[0]  # R-1001 with label …784
    app, data_dir = hub_with_upstream(tmp_path, upstream.url, upstream.cosigner_vkey)
    write_token(data_dir, upstream.register(SITE, STATION, station_vkey(data_dir)))
    upstream.import_manifest(SITE, [first])
    with TestClient(app) as client:
        token = sign_in(client, OPERATORS[Role.OPERATOR][1])
        wait_for(lambda: returns_at(client, token) == {"R-1001"})
        # the label was on the wrong return: R-1001 gets a new one, R-1003 takes the old one
        relabelled = {**first, "label_codes": ["1Z999AA10123456800"]}
        taker = {**first, "return_id": "R-1003", "customer_ref": "C-79"}
        upstream.import_manifest(SITE, [relabelled, taker])  # upstream accepts it
        try:
            wait_for(lambda: returns_at(client, token) == {"R-1001", "R-1003"}, within=15)
        except AssertionError:
            body = client.get(
                "/api/v1/replication", headers={"Authorization": f"Bearer {token}"}
            ).json()
            raise AssertionError(f"manifest feed wedged: {body['alarm']}") from None
