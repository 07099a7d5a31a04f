"""The config a checkpoint carries in its ``meta``, read as data: never run.

mmengine writes the training config into every checkpoint as Python text
(``meta['cfg']``, the config's ``pretty_text``; also ``message_hub.runtime_info.cfg``).
``Config.fromstring(text, '.py')`` would *execute* that text, and a checkpoint from outside is
untrusted, so mmtl never does. :func:`parse_literal_config` accepts only ``name = value``
statements whose values are literals (numbers, strings, ``True``/``False``/``None``, lists,
tuples, dicts, ``dict(key=value)`` calls); anything else (a call to another function, an
import, an attribute, a name) is refused with the line at fault, and nothing is evaluated.

One more way a literal config can run code: mmengine's ``Registry.get`` falls back to
importing any dotted name, so ``dict(type='subprocess.call', args=...)`` would call it when
the model is built. :func:`embedded_config` therefore also requires every ``type`` to be a
name registered in mmtl's, mmpretrain's or mmengine's registries.
"""

import ast
from typing import Any, Dict, Iterator, Optional, Set, Tuple

from mmengine.config import Config

from .checkpoint import CheckpointError

#: Scopes under which a ``type`` may be written as ``'scope.Name'``.
TYPE_SCOPES = ('mmtl', 'mmpretrain', 'mmengine')


class EmbeddedConfigError(CheckpointError, ValueError):
    """The config inside a checkpoint is not plain data, or names an unregistered type."""


def _literal(node: ast.AST, source: str) -> Any:
    """The value of a literal expression node; raises on anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, source)
        if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(item, source) for item in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    elif isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, source): _literal(v, source) for k, v in zip(node.keys, node.values)}
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
        and all(kw.arg is not None for kw in node.keywords)
    ):
        return {kw.arg: _literal(kw.value, source) for kw in node.keywords}
    snippet = ast.unparse(node)
    snippet = snippet if len(snippet) <= 60 else snippet[:57] + '...'
    raise EmbeddedConfigError(
        f'the config inside {source} is not plain data (line {getattr(node, "lineno", "?")}: '
        f'{snippet}); it is not used: pass the config file explicitly'
    )


def parse_literal_config(text: str, source: str = 'the checkpoint') -> Dict[str, Any]:
    """Read config text of ``name = literal`` statements into a dict, evaluating nothing.

    Args:
        text (str): Python config text (e.g. a checkpoint's ``meta['cfg']``).
        source (str): What to call its origin in messages.

    Returns:
        dict: The top-level names and their values.

    Raises:
        EmbeddedConfigError: The text is not valid Python, or holds anything but plain
            assignments of literal values.
    """
    try:
        tree = ast.parse(text, mode='exec')
    except SyntaxError as err:
        raise EmbeddedConfigError(
            f'the config inside {source} is not valid Python (line {err.lineno}: {err.msg})'
        ) from None
    result: Dict[str, Any] = {}
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            _literal(statement, source)  # raises, naming the statement
        result[statement.targets[0].id] = _literal(statement.value, source)
    return result


def _type_entries(node: Any, key: str = '') -> Iterator[Tuple[str, Any]]:
    """``(dotted key, value)`` of every ``type`` entry in a nested config."""
    if isinstance(node, dict):
        if 'type' in node:
            yield (f'{key}.type' if key else 'type'), node['type']
        for child_key, child in node.items():
            if child_key != 'type':
                yield from _type_entries(child, f'{key}.{child_key}' if key else str(child_key))
    elif isinstance(node, (list, tuple)):
        for index, child in enumerate(node):
            yield from _type_entries(child, f'{key}.{index}')


def registered_type_names() -> Set[str]:
    """Every name registered in mmtl's, mmpretrain's and mmengine's registries."""
    import mmengine.registry
    import mmpretrain.registry
    from mmengine.registry import Registry

    from mmtl import registry as mmtl_registry

    names: Set[str] = set()
    for module in (mmengine.registry, mmpretrain.registry, mmtl_registry):
        for registry in vars(module).values():
            if isinstance(registry, Registry):
                registry.import_from_location()
                names.update(registry.module_dict)
    return names


def check_registered_types(cfg_dict: Dict[str, Any], source: str) -> None:
    """Refuse a ``type`` that is not a registered name (mmengine would import it).

    Raises:
        EmbeddedConfigError: Naming the key and the type.
    """
    known = registered_type_names()
    for key, type_name in _type_entries(cfg_dict):
        scope, _, name = type_name.rpartition('.') if isinstance(type_name, str) else ('', '', '')
        if isinstance(type_name, str) and name in known and scope in ('', *TYPE_SCOPES):
            continue
        raise EmbeddedConfigError(
            f'the config inside {source} has {key}={type_name!r}, which is no registered '
            f'mmtl/mmpretrain/mmengine type (mmengine would import and call it); it is not '
            f'used: pass the config file explicitly'
        )


def config_text(checkpoint: Any) -> Optional[str]:
    """The config text a checkpoint carries (``meta.cfg``, else the message hub's), or None."""
    if not isinstance(checkpoint, dict):
        return None
    meta = checkpoint.get('meta') or {}
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        hub = checkpoint.get('message_hub') or {}
        runtime = hub.get('runtime_info') or {} if isinstance(hub, dict) else {}
        text = runtime.get('cfg') if isinstance(runtime, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def embedded_config(checkpoint: Any, source: str) -> Optional[Config]:
    """The training config inside ``checkpoint``, as data, or None when it carries none.

    Args:
        checkpoint (dict): A loaded checkpoint.
        source (str): The checkpoint's path, for messages.

    Returns:
        Config | None: The config (built from a dict: no code of the checkpoint runs).

    Raises:
        EmbeddedConfigError: The config text is not plain data, or names a type that is
            not registered.
    """
    text = config_text(checkpoint)
    if text is None:
        return None
    cfg_dict = parse_literal_config(text, source)
    check_registered_types(cfg_dict, source)
    return Config(cfg_dict)
