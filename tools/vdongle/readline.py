"""The friendly REPL's line editor, as MicroPython's shared/readline/readline.c:
the cursor keys, Home and End, Delete, Backspace (four spaces at once in an
indent), Ctrl-A/B/E/D as Emacs keys inside a line, the history under Up and
Down, and the indent after a line that ends in ":". Pure: what it echoes goes
to the send function it is given."""

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = 1, 2, 3, 4, 5
BACKSPACE, TAB, LF, CR, ESC, DEL = 8, 9, 10, 13, 27, 127
SPACE = 32
HISTORY = 8                 # MICROPY_READLINE_HISTORY_SIZE
INDENT = b"    "
ENTER = 0                   # what key() returns when the line is complete

# Where an escape sequence is: none, after ESC, after "ESC [", after "ESC O",
# after "ESC [" and a digit.
NO_ESC, ESC_SEEN, ESC_BRACKET, ESC_O, ESC_DIGIT = 0, 1, 2, 3, 4


class Readline:
    def __init__(self, send):
        self.send = send
        self.line = bytearray()     # the input so far: every line of a compound statement
        self.orig = 0               # where the line being edited starts in self.line
        self.cursor = 0
        self.esc = NO_ESC
        self.esc_digit = 0
        self.history = []           # entries, the newest first
        self.history_at = -1        # the entry shown (-1: the line being typed)

    def clear(self):
        """Forget the input (a reset)."""
        self.line = bytearray()
        self.esc = NO_ESC

    def start(self, prompt):
        """A new line of input in self.line, after the prompt."""
        self.orig = self.cursor = len(self.line)
        self.esc = NO_ESC
        self.history_at = -1
        self.send(prompt)

    def next_line(self, prompt):
        """A continuation line: the prompt, then the indent it calls for."""
        self.start(prompt)
        self.auto_indent()

    def auto_indent(self):
        line = self.line
        if len(line) > 1 and line[-1] == LF:
            i = len(line) - 1
            while i > 0 and line[i - 1] != LF:
                i -= 1
            j = i
            while j < len(line) and line[j] == SPACE:
                j += 1
            if i > 0 and j + 1 == len(line):
                k = i - 1
                while k > 0:
                    if line[k - 1] == LF:
                        return       # the last 2 lines are blank: no indent
                    if line[k - 1] != SPACE:
                        break
                    k -= 1
            n = (j - i) // len(INDENT)
            if line[-2] == ord(":"):
                n += 1
            if n > 0:
                self.insert(INDENT * n)

    def insert(self, text):
        tail = bytes(self.line[self.cursor:])
        self.line[self.cursor:self.cursor] = text
        self.cursor += len(text)
        self.send(bytes(text) + tail + b"\b" * len(tail))

    def backspace(self, n):
        tail = bytes(self.line[self.cursor:])
        del self.line[self.cursor - n:self.cursor]
        self.cursor -= n
        self.send(b"\b" * n + tail + b" " * n + b"\b" * (len(tail) + n))

    def delete(self):
        if self.cursor < len(self.line):
            del self.line[self.cursor]
            tail = bytes(self.line[self.cursor:])
            self.send(tail + b" " + b"\b" * (len(tail) + 1))

    def move_to(self, pos):
        if pos < self.cursor:
            self.send(b"\b" * (self.cursor - pos))
        elif pos > self.cursor:
            self.send(bytes(self.line[self.cursor:pos]))
        self.cursor = pos

    def recall(self, step):
        """Up (step 1) or Down (-1) in the history."""
        at = self.history_at + step
        if at < -1 or at >= len(self.history):
            return
        self.history_at = at
        entry = self.history[at] if at >= 0 else b""
        self.move_to(self.orig)
        old = len(self.line) - self.orig
        del self.line[self.orig:]
        self.line += entry
        self.cursor = len(self.line)
        pad = max(0, old - len(entry))
        self.send(entry + b" " * pad + b"\b" * pad)

    def key(self, byte):
        """One byte typed: None while the line is being edited, else what
        ends it: ENTER, or a control key (Ctrl-A..E on an empty line, Ctrl-C
        anywhere)."""
        if self.esc != NO_ESC:
            self.escape(byte)
            return None
        if CTRL_A <= byte <= CTRL_E and len(self.line) == self.orig:
            return byte
        if byte == CTRL_A:
            self.move_to(self.orig)
        elif byte == CTRL_B:
            self.move_to(max(self.cursor - 1, self.orig))
        elif byte == CTRL_C:
            return CTRL_C
        elif byte == CTRL_D:
            self.delete()
        elif byte == CTRL_E:
            self.move_to(len(self.line))
        elif byte == CR:
            self.send(b"\r\n")
            entry = bytes(self.line[self.orig:])
            if entry.strip() and (not self.history or self.history[0] != entry):
                self.history.insert(0, entry)
                del self.history[HISTORY:]
            return ENTER
        elif byte == ESC:
            self.esc = ESC_SEEN
        elif byte in (BACKSPACE, DEL):
            if self.cursor > self.orig:
                before = self.line[self.orig:self.cursor]
                indented = len(before) >= len(INDENT) and before.count(b" ") == len(before)
                self.backspace(len(INDENT) if indented else 1)
        elif byte == TAB:
            if self.cursor > 0 and self.line[self.cursor - 1] in b" \n":
                self.insert(INDENT)   # indent; no completion of names here
        elif byte >= SPACE:
            self.insert(bytes((byte,)))
        return None

    def escape(self, byte):
        """A byte of an escape sequence (a cursor key, Home, End, Delete)."""
        state, self.esc = self.esc, NO_ESC
        if state == ESC_SEEN:
            self.esc = ESC_BRACKET if byte == ord("[") else ESC_O if byte == ord("O") else NO_ESC
        elif state == ESC_BRACKET:
            if ord("0") <= byte <= ord("9"):
                self.esc_digit = byte
                self.esc = ESC_DIGIT
            elif byte == ord("A"):
                self.recall(1)
            elif byte == ord("B"):
                self.recall(-1)
            elif byte == ord("C"):
                self.move_to(min(self.cursor + 1, len(self.line)))
            elif byte == ord("D"):
                self.move_to(max(self.cursor - 1, self.orig))
            elif byte == ord("H"):
                self.move_to(self.orig)
            elif byte == ord("F"):
                self.move_to(len(self.line))
        elif state == ESC_O:
            if byte == ord("H"):
                self.move_to(self.orig)
            elif byte == ord("F"):
                self.move_to(len(self.line))
        elif state == ESC_DIGIT and byte == ord("~"):
            if self.esc_digit in (ord("1"), ord("7")):
                self.move_to(self.orig)
            elif self.esc_digit in (ord("4"), ord("8")):
                self.move_to(len(self.line))
            elif self.esc_digit == ord("3"):
                self.delete()
