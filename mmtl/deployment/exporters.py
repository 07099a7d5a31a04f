"""Exporters by format: each writes a model file and can load it back to check parity.

ONNX goes through torch's TorchScript-based exporter (``torch.onnx.export(dynamo=False)``):
the dynamo exporter needs the extra ``onnxscript`` package and is slower, for the same
outputs. TorchScript is made by tracing (mmpretrain models are not scriptable).
"""

import warnings
from typing import Callable, Dict, Optional, Sequence, Type

import numpy as np
import torch
from torch import nn

#: Default ONNX opset: supported by onnxruntime >= 1.12 and by every op MobileNet/ResNet use.
DEFAULT_OPSET = 17


class Exporter:
    """Writes a module to one format (``suffix``: the model file extension) and runs the
    written file. A new format is a subclass added to :data:`EXPORTERS`."""

    suffix = ''

    def export(
        self,
        module: nn.Module,
        example: torch.Tensor,
        path: str,
        output_names: Sequence[str],
        opset: Optional[int],
    ) -> None:
        """Write ``module`` to ``path`` with a dynamic batch dimension.

        Args:
            module (nn.Module): The module, in eval mode.
            example (torch.Tensor): An example input batch.
            path (str): Output file.
            output_names (Sequence[str]): Names of the module's outputs.
            opset (int, optional): ONNX opset; ignored by formats without one.
        """
        raise NotImplementedError

    def load(self, path: str) -> Callable[[np.ndarray], Dict[str, np.ndarray]]:
        """Load a written file as a function ``batch -> {output name: array}``.

        Args:
            path (str): The model file.

        Returns:
            callable: Runs the exported model on a numpy batch.
        """
        raise NotImplementedError


class OnnxExporter(Exporter):
    """ONNX through ``torch.onnx.export`` (TorchScript-based), run back with onnxruntime."""

    suffix = '.onnx'

    def export(self, module, example, path, output_names, opset) -> None:
        names = ['input', *output_names]
        with warnings.catch_warnings():
            # The TorchScript-based exporter is marked deprecated in favour of dynamo.
            warnings.simplefilter('ignore', DeprecationWarning)
            warnings.simplefilter('ignore', FutureWarning)
            torch.onnx.export(
                module,
                (example,),
                path,
                dynamo=False,
                input_names=['input'],
                output_names=list(output_names),
                opset_version=opset or DEFAULT_OPSET,
                dynamic_axes={name: {0: 'batch'} for name in names},
                do_constant_folding=True,
            )
        import onnx

        onnx.checker.check_model(path)

    def load(self, path):
        import onnxruntime as ort

        session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        names = [output.name for output in session.get_outputs()]

        def run(batch: np.ndarray) -> Dict[str, np.ndarray]:
            return dict(zip(names, session.run(None, {'input': batch})))

        return run


class TorchScriptExporter(Exporter):
    """TorchScript by ``torch.jit.trace``, run back with ``torch.jit.load``."""

    suffix = '.pt'

    def export(self, module, example, path, output_names, opset) -> None:
        with warnings.catch_warnings():
            # torch.jit is marked deprecated in favour of torch.export, and still works.
            warnings.simplefilter('ignore', FutureWarning)
            warnings.simplefilter('ignore', DeprecationWarning)
            traced = torch.jit.trace(module, (example,), check_trace=False)
            torch.jit.save(traced, path, _extra_files={'output_names': ','.join(output_names)})

    def load(self, path):
        extra = {'output_names': ''}
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', FutureWarning)
            module = torch.jit.load(path, map_location='cpu', _extra_files=extra)
        names = extra['output_names'].decode().split(',')

        def run(batch: np.ndarray) -> Dict[str, np.ndarray]:
            with torch.no_grad():
                outputs = module(torch.from_numpy(batch))
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            return {name: out.numpy() for name, out in zip(names, outputs)}

        return run


#: Exporter classes by format name (``export.py --format``).
EXPORTERS: Dict[str, Type[Exporter]] = {'onnx': OnnxExporter, 'torchscript': TorchScriptExporter}


def export_formats() -> list:
    """The format names, sorted."""
    return sorted(EXPORTERS)


def build_exporter(export_format: str) -> Exporter:
    """The exporter for a format name.

    Args:
        export_format (str): A name in :data:`EXPORTERS`.

    Returns:
        Exporter: A new exporter.

    Raises:
        KeyError: An unknown format, naming the known ones.
    """
    if export_format not in EXPORTERS:
        raise KeyError(f'unknown export format {export_format!r}; known: {export_formats()}')
    return EXPORTERS[export_format]()
