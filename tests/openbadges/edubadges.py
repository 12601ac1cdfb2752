"""
How a credential differs from SURF Edubadges' microcredential: its JSON schema's complaints, each
named in a few words (tests/data holds a copy of the schema).
"""

import json
from pathlib import Path

import jsonschema

DATA = Path(__file__).resolve().parents[1] / "data"
EDUBADGES_SCHEMA = json.loads((DATA / "edubadges_microcredential_schema.json").read_text())


def edubadges_differences(document) -> list:
    """The schema's complaints about ``document``, each named as in DELIBERATE."""
    validator = jsonschema.Draft201909Validator(EDUBADGES_SCHEMA)
    found = []
    for error in validator.iter_errors(document):
        where = ".".join(str(p) for p in error.absolute_path).replace("credentialSubject.achievement", "achievement")
        if error.validator == "oneOf":
            names = sorted(name for branch in error.validator_value for name in branch.get("required", ()))
            found.append(f"{where}: one of {', '.join(names)}")
        elif error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            found.extend(f"{where}: required {name}" for name in missing)
        else:
            found.append(f"{where}: {error.message}")
    return sorted(set(found))
