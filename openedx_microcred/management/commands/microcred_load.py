"""
Create or update credentials and stacks from a catalog file ("configuration as code").

    manage.py microcred_load catalog.yaml
    manage.py microcred_load catalog.json --dry-run

The file is YAML (.yaml, .yml) or JSON (.json): a mapping whose ``credentials`` list describes
one credential per entry, keyed by slug; see docs/catalog-format.md. Every entry is validated
before anything is written; if anything is wrong the command fails listing every error and the
database is left as it was. Loading the same file twice changes nothing the second time.

This command only reads the file and prints; ``catalog_files.load_catalog`` does the work.
"""

import json
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from openedx_microcred.catalog_files import InvalidCatalog, load_catalog
from openedx_microcred.limits import (
    MAX_CATALOG_BYTES,
    MAX_CATALOG_DEPTH,
    MAX_CATALOG_VALUES,
    JSONLimitExceeded,
    loads_bounded,
)

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)


class Command(BaseCommand):
    """
    ``microcred_load``: loads a catalog file all or nothing (every error listed), and lists what was
    created and updated (``-v 2``: also what was unchanged).
    """

    help = "Create or update credentials and stacks from a YAML or JSON catalog file, keyed by slug."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A catalog file: .yaml, .yml or .json.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Validate the file and report what would change, without writing anything.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        document = read_catalog_file(path)
        try:
            report = load_catalog(document, dry_run=options["dry_run"])
        except InvalidCatalog as exc:
            errors = exc.messages
            raise CommandError(
                f"{path}: {len(errors)} error(s); nothing was loaded.\n" + "\n".join(f"  {e}" for e in errors)
            ) from exc

        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        verb = "would be " if report.dry_run else ""
        if options["verbosity"] >= 1:
            for slug in report.created:
                self.stdout.write(f"  {verb}created: {slug}")
            for slug in report.updated:
                self.stdout.write(f"  {verb}updated: {slug}")
        if options["verbosity"] >= 2:
            for slug in report.unchanged:
                self.stdout.write(f"  unchanged: {slug}")
        summary = f"created {len(report.created)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}"
        if report.dry_run:
            self.stdout.write(self.style.NOTICE(f"Dry run, nothing written. {path}: {summary}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{path}: {summary}"))


def read_catalog_file(path: Path):
    """The parsed content of a catalog file, which must be a mapping; CommandError if not."""
    suffix = path.suffix.lower()
    if suffix not in YAML_SUFFIXES + JSON_SUFFIXES:
        raise CommandError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; "
            f"a catalog is {', '.join(YAML_SUFFIXES + JSON_SUFFIXES)}"
        )
    try:
        size = path.stat().st_size
        if size > MAX_CATALOG_BYTES:
            raise CommandError(f"{path}: the file has {size} bytes; a catalog file has at most {MAX_CATALOG_BYTES}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        if suffix in JSON_SUFFIXES:
            document = loads_bounded(text, MAX_CATALOG_DEPTH, MAX_CATALOG_BYTES, object_pairs_hook=_unique_keys_object)
        else:
            # pylint: disable-next=unsafe-yaml-load  (_CatalogLoader is a SafeLoader: plain data only)
            document = yaml.load(text, Loader=_CatalogLoader)
    except JSONLimitExceeded as exc:
        raise CommandError(f"{path}: cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not valid JSON: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CommandError(f"{path}: not valid YAML: {exc}") from exc
    except _DuplicateKey as exc:
        raise CommandError(f"{path}: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        # A scalar that resolves to a type its text cannot make: a date such as 2026-13-45, an
        # integer longer than Python converts.
        raise CommandError(f"{path}: not valid YAML: a value cannot be read: {exc}") from exc
    if not isinstance(document, dict):
        raise CommandError(
            f"{path}: the top level must be a mapping with a 'credentials' list, not {type(document).__name__}"
        )
    return document


class _DuplicateKey(ValueError):
    pass


def _unique_keys_object(pairs):
    """
    The object_pairs_hook for json: the object as a dict; _DuplicateKey if a key is given twice (json
    alone keeps the last).
    """
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(f"not valid JSON: duplicate key {key!r} in an object")
        seen[key] = value
    return seen


class _UniqueKeySafeLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # keys merged in with << may be overridden
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # an unhashable key; the base class reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _CatalogLoader(_UniqueKeySafeLoader):
    """
    The catalog's YAML loader: anchors and aliases (and ``<<`` merge keys) work, but the document
    they stand for is bounded: at most MAX_CATALOG_VALUES values and MAX_CATALOG_DEPTH levels once
    every alias is expanded, and no alias to a node that contains it.

    An alias repeats a node without repeating its text, so a few hundred bytes can stand for
    billions of values ("billion laughs"). Each node's expanded size is added up as it is composed,
    before anything is built from it, so such a file fails at once. The composer recurses, so the
    written depth is bounded too, before it can exhaust the stack.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._sizes = {}  # id(node) → (values once expanded, levels below it), for composed nodes

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, "found an alias to a node that contains it (a recursive alias)", mark)
            return node
        mark = self.peek_event().start_mark
        if self._depth >= MAX_CATALOG_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_CATALOG_DEPTH} levels", mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        sizes = [self._sizes[id(child)] for child in children]
        values = 1 + sum(size for size, _ in sizes)
        levels = 1 + max((depth for _, depth in sizes), default=-1)
        if values > MAX_CATALOG_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"with its aliases expanded, this stands for more than {MAX_CATALOG_VALUES} values "
                            "(a catalog file has at most that many)", mark)
        if levels >= MAX_CATALOG_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"with its aliases expanded, this is nested deeper than {MAX_CATALOG_DEPTH} levels", mark)
        self._sizes[id(node)] = (values, levels)
        return node
