"""Python's ftplib with debug output, as a user would run it: argv = port, password."""

from __future__ import annotations

import ftplib
import sys


def main() -> int:
    port, password = int(sys.argv[1]), sys.argv[2]
    ftp = ftplib.FTP()
    ftp.set_debuglevel(2)
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login("alice", password)  # raises ftplib.error_perm on a wrong password
    ftp.retrlines("LIST")
    ftp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
