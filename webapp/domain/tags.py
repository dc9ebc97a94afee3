"""The tag format shared by mentor profiles and help requests."""

import re

MAX_TAGS = 10
MAX_TAG_LENGTH = 30
TAG_PATTERN = re.compile(r"[a-z0-9+#.\-]+")


def parse_tags(text: str) -> list[str]:
    """Split comma- or space-separated tags, lowercase them, and return them sorted and unique.

    Raises ValueError naming the first invalid tag, or when there are more than MAX_TAGS.
    """
    tags: list[str] = []
    for raw in re.split(r"[,\s]+", text.strip()):
        if not raw:
            continue
        tag = raw.lower()
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"Tag '{raw[:40]}' is longer than {MAX_TAG_LENGTH} characters.")
        if not TAG_PATTERN.fullmatch(tag):
            raise ValueError(f"Tag '{raw[:40]}' is invalid: use letters, digits and + # . - only.")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"At most {MAX_TAGS} tags are allowed; {len(tags)} were given.")
    return sorted(tags)
