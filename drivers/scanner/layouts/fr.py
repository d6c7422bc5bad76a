"""France (AZERTY, Windows "French"): digits on shift, dead ^ ¨, AltGr ~ ` # { [ | \\ @."""

from evdev import ecodes as e

from drivers.scanner.layout import Layout

LAYOUT = Layout(
    name="fr",
    description="French (France), AZERTY",
    keys={
        e.KEY_GRAVE: ("²", ""),
        e.KEY_1: ("&", "1"),
        e.KEY_2: ("é", "2", "~"),
        e.KEY_3: ('"', "3", "#"),
        e.KEY_4: ("'", "4", "{"),
        e.KEY_5: ("(", "5", "["),
        e.KEY_6: ("-", "6", "|"),
        e.KEY_7: ("è", "7", "`"),
        e.KEY_8: ("_", "8", "\\"),
        e.KEY_9: ("ç", "9", "^"),
        e.KEY_0: ("à", "0", "@"),
        e.KEY_MINUS: (")", "°", "]"),
        e.KEY_EQUAL: ("=", "+", "}"),
        e.KEY_Q: ("a", "A"),
        e.KEY_W: ("z", "Z"),
        e.KEY_E: ("e", "E", "€"),
        e.KEY_R: ("r", "R"),
        e.KEY_T: ("t", "T"),
        e.KEY_Y: ("y", "Y"),
        e.KEY_U: ("u", "U"),
        e.KEY_I: ("i", "I"),
        e.KEY_O: ("o", "O"),
        e.KEY_P: ("p", "P"),
        e.KEY_LEFTBRACE: ("^", "¨"),
        e.KEY_RIGHTBRACE: ("$", "£", "¤"),
        e.KEY_A: ("q", "Q"),
        e.KEY_S: ("s", "S"),
        e.KEY_D: ("d", "D"),
        e.KEY_F: ("f", "F"),
        e.KEY_G: ("g", "G"),
        e.KEY_H: ("h", "H"),
        e.KEY_J: ("j", "J"),
        e.KEY_K: ("k", "K"),
        e.KEY_L: ("l", "L"),
        e.KEY_SEMICOLON: ("m", "M"),
        e.KEY_APOSTROPHE: ("ù", "%"),
        e.KEY_BACKSLASH: ("*", "µ"),  # the ISO key left of Enter
        e.KEY_102ND: ("<", ">"),
        e.KEY_Z: ("w", "W"),
        e.KEY_X: ("x", "X"),
        e.KEY_C: ("c", "C"),
        e.KEY_V: ("v", "V"),
        e.KEY_B: ("b", "B"),
        e.KEY_N: ("n", "N"),
        e.KEY_M: (",", "?"),
        e.KEY_COMMA: (";", "."),
        e.KEY_DOT: (":", "/"),
        e.KEY_SLASH: ("!", "§"),
        e.KEY_SPACE: (" ", " "),
    },
    dead=frozenset(
        {
            (e.KEY_2, "altgr"),
            (e.KEY_7, "altgr"),
            (e.KEY_LEFTBRACE, "plain"),
            (e.KEY_LEFTBRACE, "shift"),
        }
    ),
)
