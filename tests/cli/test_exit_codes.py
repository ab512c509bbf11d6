"""Exit codes that need no running API: usage errors and an unreachable API."""

from tests.cli.support import run_oms


def test_unreachable_api_exits_4_with_a_short_message():
    result = run_oms("stats", api_url="http://127.0.0.1:9")

    assert result.returncode == 4
    assert result.stdout == b""
    assert result.stderr.splitlines() == [
        "error: cannot reach the OMS API at http://127.0.0.1:9: Connection refused",
        "  is it running? Its address is --api-url (OMS_API_URL)",
    ]


def test_waiting_commands_also_exit_4_when_unreachable(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id\n1\n")
    result = run_oms("upload", str(path), api_url="http://127.0.0.1:9")
    assert result.returncode == 4
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    assert run_oms("status", "--status", "bogus").returncode == 2
    assert run_oms("upload", "/no/such/file.csv").returncode == 2
    bad_url = run_oms("stats", api_url="127.0.0.1:8080")
    assert bad_url.returncode == 2
    assert "not an http:// or https:// URL" in bad_url.stderr
    both = run_oms("status", "abc", "--status", "failed", api_url="http://127.0.0.1:9")
    assert both.returncode == 2


def test_help_documents_the_exit_codes():
    result = run_oms("--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for line in (
        "0  success",
        "1  the upload finished but failed or was rejected",
        "2  usage error",
        "3  the API refused the request (4xx)",
        "4  the API is unreachable or answered with a server error (5xx)",
        "5  timed out waiting",
    ):
        assert line in text
