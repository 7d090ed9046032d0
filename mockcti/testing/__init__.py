"""Tools for test suites: the pytest plugin, Hypothesis strategies and the client fuzzer."""
