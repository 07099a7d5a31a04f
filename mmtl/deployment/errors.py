"""Export failures that name the layer at fault.

An exporter fails in one of two places. While it runs the model (tracing), the failure is
raised inside some module's ``forward``: :func:`module_call_stack` keeps the stack of module
paths being run, so the innermost one is the culprit. After tracing, while converting the
traced graph (an operator the ONNX opset lacks), the error names an ``aten::`` operator:
:func:`find_operator_module` traces the model and reads the module scope of that operator.
"""

import re
import warnings
from contextlib import contextmanager
from typing import Iterator, List, Optional

import torch
from torch import nn

_ATEN_OPERATOR = re.compile(r"'?(aten::\w+)'?")


class ExportError(RuntimeError):
    """A model could not be exported; names the format and, when found, the module at fault.

    Args:
        export_format (str): The format being exported to.
        reason (str): What went wrong.
        module_path (str, optional): Dotted path of the failing module in the classifier.
        module_type (str, optional): Its class name.
    """

    def __init__(
        self,
        export_format: str,
        reason: str,
        module_path: Optional[str] = None,
        module_type: Optional[str] = None,
    ) -> None:
        self.module_path = module_path
        self.module_type = module_type
        where = (
            'the model'
            if module_path is None
            else f'layer {module_path or "<root>"} ({module_type})'
        )
        super().__init__(f'cannot export {where} to {export_format}: {reason}')


@contextmanager
def module_call_stack(root: nn.Module) -> Iterator[List[str]]:
    """The paths of the modules of ``root`` that are running, innermost last.

    After an exception inside a forward, the list still holds the modules that were running
    when it was raised: their forward hooks never ran to pop them.

    Args:
        root (nn.Module): The model to watch.
    """
    stack: List[str] = []

    def pop(*_) -> None:  # a hook that returns a value replaces the module's output
        stack.pop()

    handles = []
    for name, module in root.named_modules():
        handles.append(module.register_forward_pre_hook(lambda *_, name=name: stack.append(name)))
        handles.append(module.register_forward_hook(pop))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


def _spatial_size_only(values: List[torch._C.Value]) -> Optional[str]:
    """Why the traced ``values`` are not computed from spatial sizes and constants only, or None.

    A size read of dimension 0 counts as the batch size, which the export leaves free.
    """
    if not values:
        return 'a value the trace does not show'
    pending, seen = list(values), set()
    while pending:
        value = pending.pop()
        node = value.node()
        if node in seen:
            continue
        seen.add(node)
        kind = node.kind()
        if kind == 'aten::size':
            tensor, dim = list(node.inputs())
            rank = tensor.type().dim()
            index = dim.toIValue() if dim.node().kind() == 'prim::Constant' else None
            if index is None or rank is None or index % rank == 0:
                return 'the batch size (dimension 0 of a tensor)'
        elif kind in ('prim::Param', 'prim::GetAttr', 'prim::TracedAttr'):
            return "the input's or the weights' values"
        else:
            pending.extend(node.inputs())
    return None


def _last_traced_node(graph: torch._C.Graph) -> Optional[torch._C.Node]:
    """The node the tracer recorded last (inside the blocks of the modules being traced)."""
    nodes, node = list(graph.nodes()), None
    while nodes:
        node = nodes[-1]
        blocks = list(node.blocks())
        nodes = list(blocks[-1].nodes()) if blocks else []
    return node


@contextmanager
def checked_tracer_warnings(baked: List[str]) -> Iterator[None]:
    """Turn ``TracerWarning`` into an error, except for numbers taken from spatial sizes.

    A trace bakes in every Python value it takes from a tensor (``if tensor > 0``,
    ``tensor.numpy()``, ``int(tensor.shape[0])``), which makes the exported model silently
    wrong. A number computed only from spatial sizes (padding, a position-embedding grid) is
    exact, since exports have a fixed height and width.

    Args:
        baked (list): Receives ``file:line`` of each accepted conversion.
    """
    shown = warnings.showwarning

    def check(message, category, filename, lineno, *args, **kwargs):
        if not issubclass(category, torch.jit.TracerWarning):
            return shown(message, category, filename, lineno, *args, **kwargs)
        state = torch._C._get_tracing_state()
        node = _last_traced_node(state.graph()) if state is not None else None
        if str(message).startswith('Converting a tensor to a Python') and node is not None:
            # The tracer warns right after recording the op whose result is converted.
            source = _spatial_size_only(list(node.outputs()))
            if source is None:
                baked.append(f'{filename}:{lineno}')
                return None
            message = (
                f'{str(message).split(" might")[0]} computed from {source}: the trace '
                'would freeze it'
            )
        raise torch.jit.TracerWarning(str(message))

    with warnings.catch_warnings():
        warnings.simplefilter('always', torch.jit.TracerWarning)
        warnings.showwarning = check
        yield


def find_operator_module(
    root: nn.Module, example: torch.Tensor, error: BaseException
) -> Optional[str]:
    """The module path whose forward calls the ``aten::`` operator named in ``error``.

    Args:
        root (nn.Module): The exported module.
        example (torch.Tensor): An input it accepts.
        error (BaseException): The exporter's error.

    Returns:
        str | None: The dotted module path ('' for the root), or None if the error names no
        operator or the trace does not contain it.
    """
    match = _ATEN_OPERATOR.search(str(error))
    if match is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(root, (example,), check_trace=False)
    for node in traced.inlined_graph.nodes():
        if node.kind() == match.group(1):
            innermost_scope = node.scopeName().split('/')[-1]
            return innermost_scope.replace('__module.', '', 1) if innermost_scope else ''
    return None


def locate_failure(
    root: nn.Module,
    example: torch.Tensor,
    error: BaseException,
    running: List[str],
    export_format: str,
) -> ExportError:
    """Build the :class:`ExportError` for an exporter's ``error``, naming the layer at fault.

    Args:
        root (nn.Module): The exported module.
        example (torch.Tensor): The example input of the export.
        error (BaseException): What the exporter raised.
        running (list[str]): The :func:`module_call_stack` that watched the export.
        export_format (str): The format.

    Returns:
        ExportError: The error to raise.
    """
    path = running[-1] if running else None
    if path is None:
        try:
            path = find_operator_module(root, example, error)
        except Exception:  # the model does not even trace: nothing more to learn
            path = None
    # The innermost exception of the chain: torch wraps a TracerWarning made an error.
    cause = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__
    lines = str(cause).strip().splitlines()
    reason = f'{type(cause).__name__}: {lines[0] if lines else ""}'
    if path is None:
        return ExportError(export_format, reason)
    module_type = type(root.get_submodule(path)).__name__
    # Named as in the classifier, not as in the ExportableClassifier that wraps it.
    return ExportError(export_format, reason, path.removeprefix('classifier.'), module_type)
