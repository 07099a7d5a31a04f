"""Deployment exporters and step converters are mmengine registries in mmtl.registry (#15)."""

import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.registry import Registry

from mmtl.utils.config_keys import check_config_keys
from mmtl.utils.errors import ConfigError


@pytest.fixture
def registries():
    from mmtl.registry import DEPLOY_STEP_CONVERTERS, EXPORTERS

    yield EXPORTERS, DEPLOY_STEP_CONVERTERS
    for registry, name in ((EXPORTERS, 'toyformat'), (DEPLOY_STEP_CONVERTERS, 'ToyCrop')):
        registry._module_dict.pop(name, None)


def test_they_are_mmengine_registry_nodes_of_mmtl(registries):
    import mmtl.deployment as deployment

    for registry in registries:
        assert isinstance(registry, Registry) and registry.scope == 'mmtl'
    exporters, steps = registries
    assert deployment.EXPORTERS is exporters and deployment.STEP_CONVERTERS is steps
    exporters.import_from_location()
    steps.import_from_location()
    assert {'onnx', 'torchscript'} <= set(exporters.module_dict)
    assert {'Resize', 'ResizeEdge', 'CenterCrop'} <= set(steps.module_dict)


def test_a_user_exporter_is_registered_like_everything_else(registries):
    from mmtl.deployment import Exporter, build_exporter, export_formats

    exporters, _ = registries

    @exporters.register_module('toyformat')
    class ToyExporter(Exporter):
        suffix = '.toy'

    assert 'toyformat' in export_formats()
    assert isinstance(build_exporter('toyformat'), ToyExporter)
    with pytest.raises(KeyError, match=r"'tflite'.*'onnx'.*'torchscript'.*'toyformat'"):
        build_exporter('tflite')


def test_a_user_step_converter_reaches_deploy_json(registries):
    from mmtl.deployment import pipeline_to_steps

    _, steps = registries

    @steps.register_module('ToyCrop')
    def toy_crop(transform: dict) -> dict:
        return dict(type='center_crop', size=[transform['side'], transform['side']])

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ToyCrop', side=5),
        dict(type='PackInputs'),
    ]
    assert pipeline_to_steps(pipeline) == [dict(type='center_crop', size=[5, 5])]


def test_config_checks_see_the_names_but_not_the_converters_signatures():
    from mmtl.utils.config_checks import registry_type_names

    known = registry_type_names()
    assert 'onnx' in known and known['onnx'].name == 'exporter'
    # DEPLOY_STEP_CONVERTERS['Resize'] takes ``transform``: not a key of the Resize transform.
    cfg = Config(dict(test_pipeline=[dict(type='Resize', scale=8, transform=1)]))
    with pytest.raises(ConfigError, match=r'test_pipeline\.0\.transform: Resize takes no argument'):
        check_config_keys(cfg)


def test_the_registry_nodes_import_no_deployment_module():
    code = (
        'import sys; from mmtl.registry import EXPORTERS, DEPLOY_STEP_CONVERTERS; '
        "print(sorted(m for m in sys.modules if m.startswith('mmtl.deployment')))"
    )
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'
