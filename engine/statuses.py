"""The statuses of a dossier (trạng thái hồ sơ): every one, the final ones, and what
citizens and officers read for each."""

STATUSES = ("submitted", "supplement_requested", "accepted", "in_progress", "approved",
            "refused", "processed", "returned", "stopped", "withdrawn")
FINAL_STATUSES = {"refused", "processed", "returned", "stopped", "withdrawn"}

STATUS_LABELS = {
    "submitted": ("Mới nộp", "Submitted"),
    "supplement_requested": ("Yêu cầu bổ sung", "Supplement requested"),
    "accepted": ("Đã tiếp nhận", "Accepted"),
    "in_progress": ("Đang giải quyết", "In progress"),
    "approved": ("Đã phê duyệt", "Approved"),
    "refused": ("Từ chối", "Refused"),
    "processed": ("Đã giải quyết xong", "Processed"),
    "returned": ("Đã trả kết quả", "Result returned"),
    "stopped": ("Dừng xử lý", "Stopped"),
    "withdrawn": ("Đã rút hồ sơ", "Withdrawn"),
}

#: A dossier back at ``submitted`` after its applicant supplemented it reads as this, not
#: as "Mới nộp" (the status itself stays ``submitted``).
SUPPLEMENTED_LABELS = ("Đã bổ sung, đang xử lý", "Supplemented, being processed")


def status_labels(status: str, *, supplemented: bool = False) -> dict:
    """``{status_vi, status_en, supplemented}`` as applicants read the status."""
    again = supplemented and status == "submitted"
    vi, en = SUPPLEMENTED_LABELS if again else STATUS_LABELS.get(status, (status, status))
    return {"status_vi": vi, "status_en": en, "supplemented": again}
