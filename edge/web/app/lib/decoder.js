// The camera's barcode decoder: the browser's own BarcodeDetector where it has one, else the
// vendored ZXing ponyfill, imported only now (first camera use) with its WASM from the hub,
// never from the CDN its glue names by default.
const PONYFILL = "/vendor/barcode-detector/ponyfill.js";
const WASM_DIR = "/vendor/zxing-wasm/";
const FORMATS = ["code_128", "ean_13", "qr_code", "data_matrix", "code_39", "itf"];
let loading = null;

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    const formats = FORMATS.filter((format) => supported.includes(format));
    return formats.length ? new window.BarcodeDetector({ formats }) : null;
  } catch {
    return null;
  }
}

async function ponyfillDetector() {
  const { BarcodeDetector, prepareZXingModule } = await import(PONYFILL);
  prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? `${WASM_DIR}${path}` : prefix + path),
    },
    fireImmediately: true,
  });
  return { detector: new BarcodeDetector({ formats: FORMATS }), source: "ponyfill" };
}

/** {detector, source}: source is "native" or "ponyfill". Loaded once. */
export function loadDecoder() {
  loading ??= nativeDetector().then((detector) =>
    detector ? { detector, source: "native" } : ponyfillDetector(),
  );
  return loading;
}
