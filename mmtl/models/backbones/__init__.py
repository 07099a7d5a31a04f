from .deit3 import DeiT3WithMlpNorm

__all__ = ['DeiT3WithMlpNorm']
