import os

# scikit-learn's estimator checks skip their array-API check (NumPy
# inputs with array-API dispatch on) unless SciPy's array API support is
# switched on before SciPy is first imported; switch it on so that check
# runs for descend's estimators too.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
