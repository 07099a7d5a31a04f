"""Classification heads for transfer learning."""

from .transfer_head import TransferClsHead

__all__ = ['TransferClsHead']
