"""Key schema of the single registry table: the CDK table definition and every adapter use these.

Table ``axon-registry``: partition key ``pk`` (S), sort key ``sk`` (S), TTL attribute ``expires_at``,
sparse GSI ``entity-index`` (partition ``entity``, sort ``pk``) that lists the APIs without a scan.

| item                    | pk               | sk                           |
|-------------------------|------------------|------------------------------|
| API (meta, lease, queue)| ``API#<api>``    | ``META``                     |
| version                 | ``API#<api>``    | ``VERSION#<seq:08d>``        |
| timeline event          | ``API#<api>``    | ``EVENT#<seq:08d>#<ts>#<n>`` |
| autoscaler state        | ``API#<api>``    | ``SCALER``                   |
| autoscaler decision     | ``API#<api>``    | ``DECISION#<iso ts>``        |
| upload (dedup)          | ``UPLOAD#<hash>``| ``UPLOAD``                   |
"""

from __future__ import annotations

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
ENTITY_INDEX = "entity-index"
ENTITY_ATTRIBUTE = "entity"
API_ENTITY = "API"

META = "META"
SCALER = "SCALER"
VERSION_PREFIX = "VERSION#"
EVENT_PREFIX = "EVENT#"
DECISION_PREFIX = "DECISION#"


def api_pk(api: str) -> str:
    return f"API#{api}"


def version_sk(seq: int) -> str:
    return f"{VERSION_PREFIX}{seq:08d}"


def event_prefix(seq: int) -> str:
    return f"{EVENT_PREFIX}{seq:08d}#"


def event_sk(seq: int, timestamp: str, tiebreak: str) -> str:
    """Events sort by time; ``tiebreak`` keeps two events written in the same microsecond apart and in order."""
    return f"{event_prefix(seq)}{timestamp}#{tiebreak}"


def decision_sk(timestamp: str) -> str:
    return f"{DECISION_PREFIX}{timestamp}"


def upload_pk(digest: str) -> str:
    return f"UPLOAD#{digest}"
