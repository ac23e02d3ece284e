"""Log diagnosis: read a client transcript or server log and say what went wrong, where.

No Slack here. `bot.logs.analyse` turns bytes or a file into a `LogReport` (CONTRACT.md);
the formats it understands are data, in knowledge/logs/.
"""
