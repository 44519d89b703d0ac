# Entry points for people; CONTRIBUTING.md says more. CI runs `make ci`
# (bash .ci/run), which starts the servers and runs everything.
#
#   make test              every engine: SQLite, and the servers below
#   make test-sqlite       one engine's tests (and the tests that need none)
#   make test-postgres
#   make test-mysql
#   make test-sqlserver    starts the TDS server (Babelfish) unless it is up
#   make golden            rewrite testdata/golden/ from the code; read the diff
#   make fuzz              each fuzz target briefly (FUZZTIME=5m: that long)
#   make lint              golangci-lint, as .golangci.yml sets it up
#   make ci                all of it, as CI does
#
# The servers are the variables below; set them (in the environment or on
# the command line) to use others. test-<engine> sets SESSCTL_TEST_ENGINES,
# which makes every test that uses an engine through dialecttest skip the
# other engines, and SESSCTL_TEST_REQUIRE, so that a missing server fails
# instead of skipping.

SESSCTL_TEST_POSTGRES_DSN ?= postgres://postgres@127.0.0.1:5432/test
SESSCTL_TEST_MYSQL_DSN ?= root:@tcp(127.0.0.1:3306)/test
# Empty: start-tds starts the TDS server (or, when it is up, prints its DSN).
SESSCTL_TEST_SQLSERVER_DSN ?=
TDS_START ?= ../shared/tds/start-tds
GO ?= go
GOTEST = $(GO) test -count=1 -timeout 30m
PKGS ?= ./...
GOLANGCI_LINT_VERSION = v2.15.0
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint

export SESSCTL_TEST_POSTGRES_DSN SESSCTL_TEST_MYSQL_DSN

# The SQL Server DSN: the variable's, or the one start-tds prints.
sqlserver_dsn = $(if $(SESSCTL_TEST_SQLSERVER_DSN),'$(SESSCTL_TEST_SQLSERVER_DSN)',"$$($(TDS_START))")

.PHONY: test test-sqlite test-postgres test-mysql test-sqlserver golden fuzz lint lint-install ci

test:
	SESSCTL_TEST_SQLSERVER_DSN=$(sqlserver_dsn) $(GOTEST) $(PKGS)

test-sqlite:
	SESSCTL_TEST_ENGINES=sqlite SESSCTL_TEST_REQUIRE=sqlite,sqlite3 $(GOTEST) $(PKGS)

test-postgres:
	SESSCTL_TEST_ENGINES=postgres SESSCTL_TEST_REQUIRE=postgres $(GOTEST) $(PKGS)

test-mysql:
	SESSCTL_TEST_ENGINES=mysql SESSCTL_TEST_REQUIRE=mysql $(GOTEST) $(PKGS)

test-sqlserver:
	SESSCTL_TEST_SQLSERVER_DSN=$(sqlserver_dsn) SESSCTL_TEST_ENGINES=sqlserver SESSCTL_TEST_REQUIRE=sqlserver $(GOTEST) $(PKGS)

golden:
	$(GO) test -count=1 ./schema -run '^TestScriptsGolden$$' -update
	$(GO) test -count=1 ./schema -run '^TestScriptsGolden$$'
	git status --short -- testdata/golden

fuzz:
	SESSCTL_FUZZTIME=$(FUZZTIME) bash .ci/fuzz $(TARGETS)

lint: lint-install
	$(GOLANGCI_LINT) run ./...

# The pinned version, built through the Go module proxy once (2-3 min)
# and kept in GOPATH/bin.
lint-install:
	@$(GOLANGCI_LINT) version 2>/dev/null | grep -q ' $(GOLANGCI_LINT_VERSION:v%=%) ' || \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

ci:
	bash .ci/run
