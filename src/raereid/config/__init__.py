"""Configuration: dataclasses with the paper's defaults, YAML presets, command-line overrides."""

from raereid.config.loader import config_from_dict, config_to_dict, list_presets, load_config
from raereid.config.schema import Config
from raereid.config.validation import validate_config

__all__ = ["Config", "load_config", "list_presets", "config_to_dict", "config_from_dict", "validate_config"]
