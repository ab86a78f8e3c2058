"""Self-tests of the plugin, and the kata contract check.

The contract check's kata runs take a while, so they start in worker processes as soon as
collection is done; they run while the other tests do.
"""

from __future__ import annotations

import pytest

from contract_runner import ContractRun

CONTRACT_RUN = pytest.StashKey[ContractRun]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the kata runs that the selected contract tests will look at, and only those."""
    wanted = {}
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "contract_results" not in getattr(item, "fixturenames", ()):
            continue
        contract = callspec.params["contract"]
        names = {callspec.params.get("variant", contract.shipped)}
        for variant in contract.variants():
            if variant.name in names:
                wanted[variant.name] = variant
    if wanted:
        session.config.stash[CONTRACT_RUN] = ContractRun(list(wanted.values()))


@pytest.fixture(scope="session")
def contract_results(request: pytest.FixtureRequest):
    run = request.config.stash.get(CONTRACT_RUN, None)
    if run is None:
        pytest.fail("the contract workers were not started")
    return run.results()
