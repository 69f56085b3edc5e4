"""The virtual dongle's REPL, byte for byte as MicroPython's pyexec speaks it
on a board's console: the friendly REPL (with readline's editing) and its
paste mode (Ctrl-E), the raw REPL (Ctrl-A) that mpremote and pyboard.py use,
raw-paste with flow control, Ctrl-C and Ctrl-D. A state machine with no
process and no port: bytes from the host go in, and what comes out is a
list of actions for the board:

    (SEND, data)                 bytes for the host, as they are
    (OUTPUT, text)               the program's output (a traceback), which
                                 the board's console sends cooked (see cook)
    (RUN, name, mode, source)    run source, compiled in mode "exec" or
                                 "single", in the board's namespace; name is
                                 the REPL that asks ("raw", "paste",
                                 "friendly"); then call finished() or
                                 exited(), or abandon() for a reset
    (SOFT_RESET,)                reboot softly, then call reset() and enter()
    (INTERRUPT,)                 Ctrl-C while code runs or the board boots

Every boot calls reset(), and enter() once boot.py (and main.py) are over.
Input that comes while code runs waits, as in a UART's buffer, until the
REPL is back at its prompt.
"""
from .readline import CR, CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E, ENTER, LF, Readline

SEND, OUTPUT, RUN, SOFT_RESET, INTERRUPT = "send", "output", "run", "soft_reset", "interrupt"
FRIENDLY, RAW = "friendly", "raw"           # the REPL's modes
RAW_JOB, PASTE_JOB, FRIENDLY_JOB = "raw", "paste", "friendly"   # who ran the code

PASTE_BUFFER = 256          # MICROPY_REPL_STDIN_BUFFER_MAX: the raw-paste window is half
PASTE_WINDOW = PASTE_BUFFER // 2
SOFT_REBOOT = b"MPY: soft reboot\r\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
HELP = b"\r\nType \"help()\" for more information.\r\n"
PS1, PS2 = b">>> ", b"... "
END = b"\x04"               # the raw REPL's end of output, end of error, end of paste
RAW_PASTE = b"\x05A"        # then Ctrl-A: mpremote asks for raw-paste
RAW_PASTE_YES, RAW_PASTE_NO = b"R\x01", b"R\x00"
MORE = b"\x01"              # raw-paste: room for another window


def cook(data, prev_cr=False):
    """A board's console sends "\\r\\n" for "\\n" (mp_hal_stdout_tx_strn_cooked).
    Returns the bytes and whether data ended in "\\r" (for the next call)."""
    res = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if prev_cr and data.startswith(b"\n"):
        res = res[1:]
    return res, data.endswith(b"\r")


def continue_with_input(text):
    """py/repl.c mp_repl_continue_with_input: does the REPL want more lines?"""
    if not text:
        return False
    head = text.split("\n", 1)[0]
    word = ""
    for ch in head:
        if not (ch.isalnum() or ch == "_"):
            break
        word += ch
    compound = text[0] == "@" or word in ("if", "while", "for", "try", "with", "def", "class", "async")
    paren = brack = brace = 0
    quote = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            if quote in (None, ch * 3) and text[i + 1:i + 3] == ch * 2:
                i += 2
                quote = None if quote else ch * 3
            elif quote in (None, ch):
                quote = None if quote else ch
        elif ch == "\\" and text[i + 1:i + 2] in ("'", '"', "\\"):
            if quote:
                i += 1
        elif quote is None:
            if ch == "(":
                paren += 1
            elif ch == ")":
                paren -= 1
            elif ch == "[":
                brack += 1
            elif ch == "]":
                brack -= 1
            elif ch == "{":
                brace += 1
            elif ch == "}":
                brace -= 1
        i += 1
    if quote in ("'''", '"""'):
        return True
    if (paren > 0 or brack > 0 or brace > 0) and quote is None:
        return True
    if text.endswith("\\"):
        return True
    return compound and not text.endswith("\n")


class Repl:
    def __init__(self):
        self.banner = b"MicroPython; virtual dongle"   # the board's own, once it has said it
        self.mode = FRIENDLY
        self.at_prompt = False      # False while code runs or the board boots
        self.pending = bytearray()  # input not read yet
        self.running = None         # who ran the code that runs (RAW_JOB...)
        self.actions = []
        self.readline = Readline(self.send)
        self.raw_line = bytearray()
        self.raw_paste = None       # the code so far, in raw-paste mode
        self.paste_room = 0         # bytes the host may send before the next MORE
        self.continued = False      # a compound statement is being typed
        self.paste_mode = False     # the friendly REPL's paste mode (Ctrl-E)

    # --- what the board tells it (each returns the actions) -----------------

    def receive(self, data):
        """Bytes from the host."""
        for byte in data:
            if byte == CTRL_C and not self.at_prompt:
                self.actions.append((INTERRUPT,))
            else:
                self.pending.append(byte)
                self.process()
        return self.take()

    def enter(self):
        """The board has booted (and run boot.py, main.py): the prompt."""
        self.at_prompt = True
        if self.mode == RAW:
            self.send(RAW_BANNER + b">")
        else:
            self.send(self.banner + HELP)
            self.input_restart()
        self.process()
        return self.take()

    def finished(self, traceback=b""):
        """The code of RUN has ended; traceback: its uncaught exception's
        (KeyboardInterrupt too) or empty."""
        self.at_prompt = True
        if self.running == FRIENDLY_JOB:
            if traceback:
                self.actions.append((OUTPUT, traceback))
            self.input_restart()
        else:
            self.send(END + cook(traceback)[0] + END + b">")
        self.running = None
        self.process()
        return self.take()

    def exited(self):
        """The code of RUN called sys.exit(): a soft reboot, as on a board."""
        self.send(self.abandon())
        self.soft_reset()
        return self.take()

    def abandon(self):
        """The board resets under the code of RUN: the bytes that end its
        output for a host in the raw REPL (none in the friendly one)."""
        in_raw = self.running in (RAW_JOB, PASTE_JOB)
        self.running = None
        return END + END if in_raw else b""

    def reset(self, hard):
        """A new boot: a hard one also leaves the raw REPL and drops the
        input not read yet."""
        if hard:
            self.mode = FRIENDLY
            self.pending.clear()
        self.at_prompt = False
        self.running = None
        self.raw_line = bytearray()
        self.raw_paste = None
        self.readline.clear()
        self.continued = False
        self.paste_mode = False

    # --- inside -------------------------------------------------------------

    def send(self, data):
        if data:
            self.actions.append((SEND, data))

    def take(self):
        actions, self.actions = self.actions, []
        return actions

    def run(self, name, mode, source):
        self.at_prompt = False
        self.running = name
        self.actions.append((RUN, name, mode, source))

    def soft_reset(self):
        self.at_prompt = False
        self.send(SOFT_REBOOT)
        self.actions.append((SOFT_RESET,))

    def process(self):
        """Read the input while at the prompt (a byte may run code or reset)."""
        while self.pending and self.at_prompt:
            byte = self.pending[0]
            del self.pending[:1]
            if self.mode == RAW:
                self.raw_byte(byte)
            else:
                self.friendly_byte(byte)

    # --- the raw REPL (pyexec_raw_repl) ---------------------------------------

    def raw_byte(self, byte):
        if self.raw_paste is not None:
            self.raw_paste_byte(byte)
            return
        line = self.raw_line
        if byte == CTRL_A:
            self.raw_line = bytearray()
            if bytes(line) == RAW_PASTE:
                self.send(RAW_PASTE_YES + bytes((PASTE_WINDOW & 0xFF, PASTE_WINDOW >> 8)) + MORE)
                self.raw_paste = bytearray()
                self.paste_room = PASTE_WINDOW
            elif len(line) == len(RAW_PASTE) and line[0] == CTRL_E:
                self.send(RAW_PASTE_NO + b">")      # a raw-paste command it does not know
            else:
                self.send(RAW_BANNER + b">")
        elif byte == CTRL_B:
            self.raw_line = bytearray()
            self.mode = FRIENDLY
            self.send(b"\r\n" + self.banner + HELP)
            self.input_restart()
        elif byte == CTRL_C:
            self.raw_line = bytearray()
        elif byte == CTRL_D:
            self.raw_line = bytearray()
            if line:
                self.send(b"OK")
                self.run(RAW_JOB, "exec", bytes(line))
            else:
                self.send(b"OK\r\n")
                self.soft_reset()
        else:
            line.append(byte)

    def raw_paste_byte(self, byte):
        if byte == CTRL_D:
            source, self.raw_paste = self.raw_paste, None
            self.send(END)
            self.run(PASTE_JOB, "exec", bytes(source))
        elif byte == CTRL_C:
            self.raw_paste = None
            self.send(END + END + b"KeyboardInterrupt: \r\n" + END + b">")
        else:
            self.raw_paste.append(byte)
            self.paste_room -= 1
            if self.paste_room == 0:
                self.paste_room = PASTE_WINDOW
                self.send(MORE)

    # --- the friendly REPL (pyexec_friendly_repl) ---------------------------

    def input_restart(self):
        self.readline.line = bytearray()
        self.continued = False
        self.paste_mode = False
        self.readline.start(PS1)

    def paste_mode_byte(self, byte):
        if byte == CTRL_C:
            self.send(b"\r\n")
            self.input_restart()
        elif byte == CTRL_D:
            self.send(b"\r\n")
            source = bytes(self.readline.line).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            self.paste_mode = False
            self.run(FRIENDLY_JOB, "exec", source)
        else:
            self.readline.line.append(byte)
            self.send(b"\r\n=== " if byte == CR else bytes((byte,)))

    def friendly_byte(self, byte):
        if self.paste_mode:
            self.paste_mode_byte(byte)
            return
        key = self.readline.key(byte)
        if key is None:
            return
        if key == CTRL_C:
            self.send(b"\r\n")
            self.input_restart()
            return
        if not self.continued:
            if key == CTRL_A:
                self.mode = RAW
                self.send(b"\r\n" + RAW_BANNER + b">")
                self.raw_line = bytearray()
                return
            if key == CTRL_B:
                self.send(b"\r\n" + self.banner + HELP)
                self.input_restart()
                return
            if key == CTRL_D:
                self.send(b"\r\n")
                self.soft_reset()
                return
            if key == CTRL_E:
                self.send(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
                self.readline.line = bytearray()
                self.paste_mode = True
                return
            if not self.readline.line:
                self.input_restart()
                return
            if self.wants_more():
                self.continued = True
                return
        elif key in (CTRL_A, CTRL_B, CTRL_E):
            return                   # on an empty continuation line: nothing
        elif key == ENTER and self.wants_more():
            return
        source = bytes(self.readline.line)
        self.readline.line = bytearray()
        self.continued = False
        self.run(FRIENDLY_JOB, "single", source)

    def wants_more(self):
        """An unfinished statement: a new line and the continuation prompt."""
        if not continue_with_input(self.readline.line.decode("utf-8", "replace")):
            return False
        self.readline.line.append(LF)
        self.readline.next_line(PS2)
        return True
