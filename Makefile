# Developer shortcuts; CI runs .ci/run.
.PHONY: install lint test golden demo

install:
	python -m pip install -e '.[test]'

lint:
	ruff check .
	ruff format --check .
	mypy

test:
	python -m pytest -n 2 -q

golden:
	AZAUDIT_UPDATE_GOLDEN=1 python -m pytest -q tests/test_render_*.py

demo:
	azaudit scan --demo --out azaudit-report
