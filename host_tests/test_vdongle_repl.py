"""The virtual dongle's REPL (tools/vdongle/repl.py) with no process and no
port: what mpremote, pyboard.py and a person at a terminal send goes in, and
the exact bytes a board's pyexec answers come out, with what the board must
do (run code, reboot, interrupt)."""
from vdongle.repl import (INTERRUPT, OUTPUT, RUN, SEND, SOFT_RESET, Repl,
                          continue_with_input, cook)

BANNER = b"MicroPython v1.24.0 on 2024-10-25; virtual dongle (MicroPython unix port)"
FRIENDLY_BANNER = BANNER + b'\r\nType "help()" for more information.\r\n>>> '
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"


def split(actions):
    """The bytes for the host, and what the board must do, each in order."""
    return (b"".join(action[1] for action in actions if action[0] == SEND),
            [action for action in actions if action[0] != SEND])


def booted():
    repl = Repl()
    repl.banner = BANNER
    assert split(repl.enter()) == (FRIENDLY_BANNER, [])
    return repl


def in_raw_repl():
    """mpremote's enter_raw_repl: Ctrl-C, Ctrl-A, then Ctrl-D for a soft
    reset, after which the raw REPL is still there."""
    repl = booted()
    assert split(repl.receive(b"\r\x03")) == (b"\r\n>>> \r\n>>> ", [])
    assert split(repl.receive(b"\r\x01")) == (b"\r\n>>> \r\n" + RAW_PROMPT, [])
    assert split(repl.receive(b"\x04")) == (b"OK\r\nMPY: soft reboot\r\n", [(SOFT_RESET,)])
    repl.reset(hard=False)
    assert split(repl.enter()) == (RAW_PROMPT, [])
    return repl


def test_mpremote_exec_in_raw_paste_mode():
    repl = in_raw_repl()
    # a window of 128 bytes (2 bytes, little-endian), then the first go-ahead
    assert split(repl.receive(b"\x05A\x01")) == (b"R\x01\x80\x00\x01", [])
    assert repl.receive(b"print(6 * 7)") == []
    assert split(repl.receive(b"\x04")) == (b"\x04", [(RUN, "paste", "exec", b"print(6 * 7)")])
    assert split(repl.finished()) == (b"\x04\x04>", [])


def test_raw_paste_flow_control_one_go_ahead_a_window():
    repl = in_raw_repl()
    repl.receive(b"\x05A\x01")
    code = b"x = 1\n" * 64                          # 384 bytes: three windows
    go_aheads = [i for i in range(len(code)) if repl.receive(code[i:i + 1])]
    assert go_aheads == [127, 255, 383]
    assert repl.receive(b"\x04")[-1] == (RUN, "paste", "exec", code)


def test_raw_paste_cancelled_with_ctrl_c():
    repl = in_raw_repl()
    repl.receive(b"\x05A\x01")
    assert split(repl.receive(b"while True:\x03")) == (b"\x04\x04KeyboardInterrupt: \r\n\x04>", [])


def test_plain_raw_repl_ok_output_and_error_framing():
    repl = in_raw_repl()
    assert split(repl.receive(b"1/0\x04")) == (b"OK", [(RUN, "raw", "exec", b"1/0")])
    traceback = (b'Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\n'
                 b"ZeroDivisionError: divide by zero\n")
    assert split(repl.finished(traceback)) == (
        b'\x04Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\n'
        b"ZeroDivisionError: divide by zero\r\n\x04>", [])


def test_unknown_raw_paste_command_is_refused():
    repl = in_raw_repl()
    assert split(repl.receive(b"\x05B\x01")) == (b"R\x00>", [])
    assert split(repl.receive(b"print(1)\x04"))[1] == [(RUN, "raw", "exec", b"print(1)")]


def test_raw_repl_ctrl_c_drops_the_line_and_ctrl_a_reprints_the_banner():
    repl = in_raw_repl()
    assert repl.receive(b"import os\x03") == []
    assert split(repl.receive(b"\x01")) == (RAW_PROMPT, [])
    assert split(repl.receive(b"print(2)\x04"))[1] == [(RUN, "raw", "exec", b"print(2)")]


def test_input_waits_while_code_runs_and_ctrl_c_interrupts():
    repl = in_raw_repl()
    repl.receive(b"import time\x04")
    assert repl.receive(b"print(3)\x04") == []          # kept, as in a UART's buffer
    assert repl.receive(b"\x03") == [(INTERRUPT,)]      # not kept: it stops the code
    assert split(repl.finished(b"KeyboardInterrupt: \n")) == (
        b"\x04KeyboardInterrupt: \r\n\x04>OK", [(RUN, "raw", "exec", b"print(3)")])


def test_sys_exit_in_the_raw_repl_ends_the_output_and_soft_reboots():
    repl = in_raw_repl()
    repl.receive(b"import sys; sys.exit()\x04")
    assert split(repl.exited()) == (b"\x04\x04MPY: soft reboot\r\n", [(SOFT_RESET,)])


def test_abandoned_code_is_closed_for_a_raw_host_only():
    repl = in_raw_repl()
    repl.receive(b"import machine; machine.reset()\x04")
    assert repl.abandon() == b"\x04\x04"
    repl = booted()
    repl.receive(b"import machine; machine.reset()\r")
    assert repl.abandon() == b""


def test_ctrl_b_leaves_the_raw_repl():
    repl = in_raw_repl()
    assert split(repl.receive(b"\r\x02")) == (b"\r\n" + FRIENDLY_BANNER, [])
    assert repl.mode == "friendly"


def test_reset_hard_leaves_the_raw_repl_and_drops_unread_input():
    repl = in_raw_repl()
    repl.receive(b"import time\x04")
    repl.receive(b"print(1)\x04")
    repl.reset(hard=True)
    assert split(repl.enter()) == (FRIENDLY_BANNER, [])


def test_friendly_repl_echoes_runs_a_single_input_and_prompts_again():
    repl = booted()
    assert split(repl.receive(b"6 * 7\r")) == (b"6 * 7\r\n", [(RUN, "friendly", "single", b"6 * 7")])
    assert split(repl.finished()) == (b">>> ", [])


def test_friendly_repl_error_is_program_output_then_the_prompt():
    repl = booted()
    repl.receive(b"x\r")
    error = b"NameError: name 'x' isn't defined\n"
    assert repl.finished(error) == [(OUTPUT, error), (SEND, b">>> ")]


def test_compound_statement_continues_with_indent_and_backspace_removes_it():
    repl = booted()
    assert split(repl.receive(b"for i in range(2):\r")) == (b"for i in range(2):\r\n...     ", [])
    assert split(repl.receive(b"print(i)\r")) == (b"print(i)\r\n...     ", [])
    # Backspace takes the indent at once
    assert split(repl.receive(b"\x7f")) == (b"\b\b\b\b    \b\b\b\b", [])
    assert split(repl.receive(b"\r")) == (
        b"\r\n", [(RUN, "friendly", "single", b"for i in range(2):\n    print(i)\n")])


def test_cursor_keys_edit_the_line_and_history_recalls_it():
    repl = booted()
    # Left, then "b" goes in before the "c"
    assert split(repl.receive(b"ac\x1b[Db\r")) == (
        b"ac\bbc\b\r\n", [(RUN, "friendly", "single", b"abc")])
    repl.finished()
    assert split(repl.receive(b"\x1b[A")) == (b"abc", [])       # Up
    assert split(repl.receive(b"\r"))[1] == [(RUN, "friendly", "single", b"abc")]


def test_ctrl_c_drops_the_line_and_ctrl_d_soft_reboots():
    repl = booted()
    assert split(repl.receive(b"import os\x03")) == (b"import os\r\n>>> ", [])
    assert split(repl.receive(b"\x04")) == (b"\r\nMPY: soft reboot\r\n", [(SOFT_RESET,)])


def test_paste_mode_runs_the_block_as_a_file():
    repl = booted()
    assert split(repl.receive(b"\x05")) == (b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ", [])
    assert split(repl.receive(b"a = 1\rb = 2\r")) == (b"a = 1\r\n=== b = 2\r\n=== ", [])
    assert split(repl.receive(b"\x04")) == (b"\r\n", [(RUN, "friendly", "exec", b"a = 1\nb = 2\n")])


def test_continue_with_input():
    assert continue_with_input("if x:")
    assert continue_with_input("@decorator")
    assert continue_with_input("x = (1,")
    assert continue_with_input("s = '''text")
    assert continue_with_input("x = 1 + \\")
    assert not continue_with_input("x = 1")
    assert not continue_with_input("s = 'a(b'")
    assert not continue_with_input("if x:\n    y()\n")


def test_cook_sends_crlf_also_across_chunks():
    assert cook(b"a\nb\r\n") == (b"a\r\nb\r\n", False)
    assert cook(b"a\r") == (b"a\r", True)
    assert cook(b"\nb", True) == (b"\nb", False)        # "\r" then "\n": one line end
