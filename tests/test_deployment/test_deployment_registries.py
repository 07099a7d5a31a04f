"""Deployment exporters and pipeline-step converters are plain tables a user extends."""

import pytest


@pytest.fixture
def tables():
    from mmtl.deployment import EXPORTERS, STEP_CONVERTERS

    yield EXPORTERS, STEP_CONVERTERS
    EXPORTERS.pop('toyformat', None)
    STEP_CONVERTERS.pop('ToyCrop', None)


def test_the_built_in_entries_are_there(tables):
    exporters, steps = tables
    assert {'onnx', 'torchscript'} <= set(exporters)
    assert {'Resize', 'ResizeEdge', 'CenterCrop'} <= set(steps)


def test_a_user_exporter_is_registered_like_the_built_in_ones(tables):
    from mmtl.deployment import Exporter, build_exporter, export_formats

    class ToyExporter(Exporter):
        suffix = '.toy'

    tables[0]['toyformat'] = ToyExporter

    assert 'toyformat' in export_formats()
    assert isinstance(build_exporter('toyformat'), ToyExporter)
    with pytest.raises(KeyError, match=r"'tflite'.*'onnx'.*'torchscript'.*'toyformat'"):
        build_exporter('tflite')


def test_a_user_step_converter_reaches_deploy_json(tables):
    from mmtl.deployment import pipeline_to_steps

    def toy_crop(transform: dict) -> dict:
        return dict(type='center_crop', size=[transform['side'], transform['side']])

    tables[1]['ToyCrop'] = toy_crop

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ToyCrop', side=5),
        dict(type='PackInputs'),
    ]
    assert pipeline_to_steps(pipeline) == [dict(type='center_crop', size=[5, 5])]


def test_an_unknown_transform_names_the_exportable_ones():
    from mmtl.deployment import pipeline_to_steps

    with pytest.raises(ValueError, match=r"'Solarize'.*'CenterCrop'.*'Resize'"):
        pipeline_to_steps([dict(type='Solarize', thr=128)])
