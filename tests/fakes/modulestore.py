"""
edx-platform's course content, as far as the EdxPlatformAdapter reads it, installed under the
platform's own module names so that the adapter's real code runs against it:

- ``xmodule.modulestore.django.modulestore()``: ``make_course_usage_key``, ``get_course`` (None
  for a course it does not have) and ``get_items`` (every block of a course, orphans and
  detached blocks included; ItemNotFoundError for a course it does not have, as split raises);
- ``xmodule.modulestore.exceptions.ItemNotFoundError``;
- ``openedx.core.djangoapps.content.block_structure``: ``api.get_course_in_cache`` (the collected
  structure, built from the course block down its children as BlockStructureFactory builds it, with
  the ``completion_mode`` field collected where a block's class sets it; ItemNotFoundError for a
  missing course), ``models.BlockStructureModel.get`` (the stored structure's ``data_version``)
  and ``exceptions.BlockStructureNotFound``.

A course is a tree of ``(block_type, block_id, [children])``; a block type's completion mode is
the one edx-platform's block class declares (None: the class declares none).
"""

import sys
import types

from opaque_keys.edx.keys import CourseKey
from xblock.completable import XBlockCompletionMode

MODES = {
    "course": XBlockCompletionMode.AGGREGATOR,
    "chapter": XBlockCompletionMode.AGGREGATOR,
    "sequential": XBlockCompletionMode.AGGREGATOR,
    "vertical": XBlockCompletionMode.AGGREGATOR,
    "library_content": XBlockCompletionMode.AGGREGATOR,
    "split_test": XBlockCompletionMode.AGGREGATOR,
    "discussion": XBlockCompletionMode.EXCLUDED,
    "problem": XBlockCompletionMode.COMPLETABLE,
    # html, video, about, course_info, static_tab: no completion_mode of their own (completable).
}


class ItemNotFoundError(Exception):
    pass


class BlockStructureNotFound(Exception):
    pass


class _Block:
    def __init__(self, location):
        self.location = location
        if MODES.get(location.block_type):
            self.completion_mode = MODES[location.block_type]


class _Structure:
    """A collected BlockStructureBlockData: relations and collected xblock fields of reachable blocks."""

    def __init__(self, root, children):
        self.root_block_usage_key = root
        self._children = {}
        self._fields = {}
        pending = [root]
        while pending:
            block = pending.pop()
            if block in self._children:
                continue
            self._children[block] = list(children.get(block, []))
            if MODES.get(block.block_type):
                self._fields[block] = {"completion_mode": MODES[block.block_type]}
            pending.extend(self._children[block])

    def __iter__(self):
        return iter(self._children)

    def get_children(self, usage_key):
        return self._children.get(usage_key, [])

    def get_xblock_field(self, usage_key, field_name, default=None):
        return self._fields.get(usage_key, {}).get(field_name, default)


class FakePlatform:
    """The courses of a fake edx-platform, and how often their block structures were read."""

    def __init__(self):
        self.courses = {}  # CourseKey → (children by parent, every block, data_version)
        self.structure_reads = 0

    def add_course(self, course_key, tree, *, orphans=(), detached=(), version="v1"):
        """A course of blocks ``tree`` ((type, id, children)); ``orphans`` and ``detached`` are outside the tree."""
        key = CourseKey.from_string(str(course_key))
        children, blocks = {}, []

        def add(node):
            block_type, block_id, kids = (*node, [])[:3]
            location = key.make_usage_key(block_type, block_id)
            blocks.append(location)
            children[location] = [add(kid) for kid in kids]
            return location

        add(tree)
        for block_type, block_id, *_ in (*orphans, *detached):
            blocks.append(key.make_usage_key(block_type, block_id))
        self.courses[key] = (children, blocks, version)

    def delete_course(self, course_key):
        del self.courses[CourseKey.from_string(str(course_key))]

    # --- the platform's API ---

    def make_course_usage_key(self, course_key):
        return course_key.make_usage_key("course", "course")

    def get_course(self, course_key, depth=0, **kwargs):
        return _Block(self.make_course_usage_key(course_key)) if course_key in self.courses else None

    def get_items(self, course_key, **kwargs):
        if course_key not in self.courses:
            raise ItemNotFoundError(course_key)
        return [_Block(location) for location in self.courses[course_key][1]]

    def get_course_in_cache(self, course_key):
        self.structure_reads += 1
        if course_key not in self.courses:
            raise ItemNotFoundError(self.make_course_usage_key(course_key))
        return _Structure(self.make_course_usage_key(course_key), self.courses[course_key][0])

    def stored_structure(self, usage_key):
        course = self.courses.get(usage_key.course_key)
        if course is None:
            raise BlockStructureNotFound(usage_key)
        return types.SimpleNamespace(data_usage_key=usage_key, data_version=course[2])


def install(monkeypatch) -> FakePlatform:
    """Put a FakePlatform's modules into sys.modules under edx-platform's names (undone after the test)."""
    platform = FakePlatform()
    modules = {
        "xmodule.modulestore.django": {"modulestore": lambda: platform},
        "xmodule.modulestore.exceptions": {"ItemNotFoundError": ItemNotFoundError},
        "openedx.core.djangoapps.content.block_structure.api": {"get_course_in_cache": platform.get_course_in_cache},
        "openedx.core.djangoapps.content.block_structure.exceptions": {
            "BlockStructureNotFound": BlockStructureNotFound},
        "openedx.core.djangoapps.content.block_structure.models": {
            "BlockStructureModel": types.SimpleNamespace(get=platform.stored_structure)},
    }
    for name, attrs in modules.items():
        parts = name.split(".")
        for depth in range(1, len(parts)):
            parent = ".".join(parts[:depth])
            if parent not in sys.modules:
                monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
        module = types.ModuleType(name)
        for attr, value in attrs.items():
            setattr(module, attr, value)
        monkeypatch.setitem(sys.modules, name, module)
    return platform
