"""ftpcode: explains file-transfer errors in Slack. The scan engine runs compiled when built."""

from bot import native

native.enable()
