"""slidesim: molecular dynamics of sliding ferroelectric bilayers."""

__version__ = "0.1.0"
