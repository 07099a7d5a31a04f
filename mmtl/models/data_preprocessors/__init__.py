from .transfer_data_preprocessor import TransferDataPreprocessor

__all__ = ['TransferDataPreprocessor']
