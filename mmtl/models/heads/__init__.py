"""Classification heads for transfer learning, and the temperature every head can carry."""

from .temperature import TEMPERATURE_KEY, get_temperature, set_temperature
from .transfer_head import TransferClsHead

__all__ = ['TEMPERATURE_KEY', 'TransferClsHead', 'get_temperature', 'set_temperature']
