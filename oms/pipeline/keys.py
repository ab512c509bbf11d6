"""Where things live in S3."""


def upload_key(upload_id: str, filename: str) -> str:
    return f"uploads/{upload_id}/{filename}"


def part_key(upload_id: str, index: int) -> str:
    return f"invalid/{upload_id}/part-{index:06d}.csv"


def invalid_file_name(upload_id: str) -> str:
    return f"{upload_id}.csv"


def invalid_key(upload_id: str) -> str:
    return f"invalid/{invalid_file_name(upload_id)}"
