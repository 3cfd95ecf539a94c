"""Long-lived helper for the Go interop tests (internal/pytest.Helper).

Reads one JSON object per line on stdin: {"code": "..."}. The code is
exec'd in one persistent namespace; it sets `result` to a JSON-encodable
value. Replies one JSON line: {"result": ...} or {"error": traceback}.
Standard library only.
"""
import base64
import json
import sys
import traceback

ns = {"__name__": "__pyhelper__", "b64": base64.b64encode, "unb64": base64.b64decode}


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        ns["result"] = None
        try:
            exec(req["code"], ns)
            reply = {"result": ns.get("result")}
            text = json.dumps(reply)
        except BaseException:  # noqa: BLE001 - report everything to the Go side
            text = json.dumps({"error": traceback.format_exc()})
        out.write(text + "\n")
        out.flush()


if __name__ == "__main__":
    main()
