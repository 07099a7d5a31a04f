"""Export failures that name the layer at fault.

An exporter fails in one of two places. While it runs the model (tracing), the failure is
raised inside some module's ``forward``: :class:`ModuleCallTracker` keeps the stack of module
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
        module_path (str, optional): Dotted path of the failing module in the classifier.
        module_type (str, optional): Its class name.
        reason (str): What went wrong.
    """

    def __init__(
        self,
        export_format: str,
        reason: str,
        module_path: Optional[str] = None,
        module_type: Optional[str] = None,
    ) -> None:
        self.export_format = export_format
        self.module_path = module_path
        self.module_type = module_type
        self.reason = reason
        if module_path is not None:
            where = f'layer {module_path or "<root>"} ({module_type})'
            message = f'cannot export {where} to {export_format}: {reason}'
        else:
            message = f'cannot export the model to {export_format}: {reason}'
        super().__init__(message)


class ModuleCallTracker:
    """Records which modules of ``root`` are running, innermost last.

    After an exception inside a forward, :attr:`stack` still holds the modules that were
    running when it was raised (their forward hooks never ran to pop them).

    Args:
        root (nn.Module): The model to watch.
    """

    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.stack: List[str] = []
        self._handles: list = []

    def __enter__(self) -> 'ModuleCallTracker':
        self.stack.clear()
        for name, module in self.root.named_modules():
            self._handles.append(module.register_forward_pre_hook(self._pusher(name)))
            self._handles.append(module.register_forward_hook(self._pop))
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pusher(self, name: str):
        def push(module: nn.Module, args) -> None:
            self.stack.append(name)

        return push

    def _pop(self, module: nn.Module, args, output) -> None:
        self.stack.pop()

    @property
    def innermost(self) -> Optional[str]:
        """Path of the innermost module still running, or None."""
        return self.stack[-1] if self.stack else None


@contextmanager
def tracer_warnings_as_errors() -> Iterator[None]:
    """Turn ``TracerWarning`` into an error: a trace that would silently bake in a Python value
    (``if tensor > 0``, ``tensor.numpy()``, ``tensor.item()``) fails where it happens."""
    with warnings.catch_warnings():
        warnings.simplefilter('error', torch.jit.TracerWarning)
        yield


def root_cause_message(error: BaseException) -> str:
    """The first line of the innermost exception in ``error``'s chain (a TracerWarning that
    became an error is wrapped in a SystemError by torch)."""
    seen = error
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__
    text = str(seen).strip().splitlines()
    return f'{type(seen).__name__}: {text[0] if text else ""}'


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
    tracker: ModuleCallTracker,
    export_format: str,
    prefix: str = 'classifier.',
) -> ExportError:
    """Build the :class:`ExportError` for an exporter's ``error``, naming the layer at fault.

    Args:
        root (nn.Module): The exported module.
        example (torch.Tensor): The example input of the export.
        error (BaseException): What the exporter raised.
        tracker (ModuleCallTracker): The tracker that watched the export.
        export_format (str): The format.
        prefix (str): Path prefix of the classifier inside ``root``, stripped from the name.

    Returns:
        ExportError: The error to raise.
    """
    path = tracker.innermost
    if path is None:
        try:
            path = find_operator_module(root, example, error)
        except Exception:  # the model does not even trace: nothing more to learn
            path = None
    reason = root_cause_message(error)
    if path is None:
        return ExportError(export_format, reason)
    module_type = type(root.get_submodule(path)).__name__
    if path.startswith(prefix):
        path = path[len(prefix) :]
    return ExportError(export_format, reason, module_path=path, module_type=module_type)
