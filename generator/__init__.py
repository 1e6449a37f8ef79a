"""The synthetic Nantong food network: a generator of the files a city would load, with their truth.

Kept apart from :mod:`loaders` (which read files) the way scikit-learn keeps
``sklearn.datasets`` apart from its estimators: :func:`generate` writes GS1
EPCIS 2.0 documents, CSV templates and sampling announcements exactly as a
user would hand them to ``foodtrace load``, plus the ground truth the files
only partly show. It uses the file formats of :mod:`loaders.template_spec`
and the identifiers of :mod:`ontology.identifiers`; nothing in ``graph``,
``loaders`` or ``reasoning`` imports it.
"""

from .city import DEFAULT_END, DEFAULT_RATES, GENERATOR_VERSION, Manifest, generate

__all__ = ["Manifest", "generate", "GENERATOR_VERSION", "DEFAULT_END", "DEFAULT_RATES"]
