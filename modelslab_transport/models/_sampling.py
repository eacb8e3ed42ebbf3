"""The sampling a model's card recommends, sent for the fields a caller left unset."""

from __future__ import annotations

from ._catalog import model_info

__all__ = ["sampling_defaults"]


def sampling_defaults(model: str) -> dict[str, float]:
    """The model card's recommended sampling, for the fields a caller left unset.

    >>> sampling_defaults("mistralai-Magistral-Small-2506")
    {'temperature': 0.7, 'top_p': 0.95}
    >>> sampling_defaults("some-new-model")
    {}
    """
    info = model_info(model)
    return dict(info.sampling) if info is not None else {}
