"""Downloads from Kaggle: the digit-recognizer competition and MNIST datasets hosted there
(e.g. ``oddrationale/mnist-in-csv``, ``hojjatk/mnist-dataset``).

Files land in ``data/downloads/competitions/<name>/`` or ``data/downloads/datasets/<owner>/<name>/``
as Kaggle delivers them (a .zip, which the loaders read directly) and are reused afterwards
without credentials or network.

Credentials, first found wins: the ``secrets`` mapping (e.g. ``st.secrets``: ``KAGGLE_API_TOKEN``,
or ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, top level or in a ``[kaggle]`` section), the environment
variables of the same names, ``kaggle.json`` (``$KAGGLE_CONFIG_DIR``, ``~/.kaggle``,
``~/.config/kaggle``) and ``~/.kaggle/access_token``. They are never shown, logged or put in an
exception message, and never written to ``os.environ`` (on a shared server that would hand one
visitor's key to everyone).

The ``kaggle`` package is imported only when a download really starts: ``import kaggle`` prints a
help text and authenticates at import time, and ``KaggleApi.authenticate()`` calls ``exit(1)``
without credentials; both are contained here (stdout captured, ``SystemExit`` caught).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import DataError

COMPETITION = "digit-recognizer"
RULES_URL = "https://www.kaggle.com/competitions/{name}/rules"
TOKEN_URL = "https://www.kaggle.com/settings/api"
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
_POLL_SECONDS = 0.2
HOW_TO_SET = (
    "create an API token at " + TOKEN_URL + " and either export KAGGLE_API_TOKEN=<token> "
    "(or KAGGLE_USERNAME and KAGGLE_KEY), save kaggle.json to ~/.kaggle/kaggle.json "
    "(chmod 600), or add KAGGLE_API_TOKEN (or KAGGLE_USERNAME and KAGGLE_KEY) to "
    ".streamlit/secrets.toml"
)

Progress = Callable[[int, "int | None"], object]


class Credentials:
    """Kaggle credentials and where they came from; ``repr``/``str`` never show the values."""

    __slots__ = ("_token", "_username", "_key", "where")

    def __init__(
        self,
        where: str,
        *,
        token: str | None = None,
        username: str | None = None,
        key: str | None = None,
    ):
        self._token, self._username, self._key, self.where = token, username, key, where

    @property
    def kind(self) -> str:
        return "token" if self._token else "key"

    def config_values(self) -> dict:
        if self._token:
            return {"token": self._token}
        return {"username": self._username, "key": self._key}

    def secrets(self) -> list[str]:
        return [s for s in (self._token, self._key, self._username) if s]

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets(), key=len, reverse=True):
            if len(secret) >= 3:
                text = text.replace(secret, "***")
        return text

    def __repr__(self):
        return f"Credentials({self.kind} from {self.where})"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into a cache or a log by accident
        raise TypeError("Credentials are not picklable")


# ---------------------------------------------------------------- credentials


def _get(mapping, key):
    try:
        value = mapping.get(key)
    except Exception:  # st.secrets raises when there is no secrets.toml
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _from_mapping(mapping, where) -> Credentials | None:
    if mapping is None:
        return None
    sections = [mapping]
    nested = _get_section(mapping, "kaggle")
    if nested is not None:
        sections.append(nested)
    for m in sections:
        token = _get(m, "KAGGLE_API_TOKEN") or _get(m, "api_token") or _get(m, "token")
        if token:
            return Credentials(where, token=token)
        user = _get(m, "KAGGLE_USERNAME") or _get(m, "username")
        key = _get(m, "KAGGLE_KEY") or _get(m, "key")
        if user and key:
            return Credentials(where, username=user, key=key)
    return None


def _get_section(mapping, name):
    try:
        value = mapping.get(name)
    except Exception:
        return None
    return value if isinstance(value, Mapping) else None


def _config_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        dirs.append(Path(os.environ["KAGGLE_CONFIG_DIR"]))
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return dirs + [home / ".kaggle", xdg / "kaggle"]


def _from_files() -> Credentials | None:
    for folder in _config_dirs():
        path = folder / "kaggle.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            found = _from_mapping(data, f"{path}")
            if found:
                return found
    for folder in _config_dirs():
        for name in ("access_token", "access_token.txt"):
            try:
                token = (folder / name).read_text().strip()
            except OSError:
                continue
            if token:
                return Credentials(str(folder / name), token=token)
    return None


def find_credentials(secrets: Mapping | None = None) -> Credentials | None:
    """Credentials from ``secrets``, the environment or the Kaggle config files, or None."""
    return (
        _from_mapping(secrets, "Streamlit secrets")
        or _from_mapping(os.environ, "environment variables")
        or _from_files()
    )


def credentials_available(secrets: Mapping | None = None) -> bool:
    """Whether a download could be tried (without importing kaggle or using the network)."""
    return find_credentials(secrets) is not None


# ---------------------------------------------------------------- refs and folders


def normalize_ref(ref: str) -> str:
    """'digit-recognizer', 'owner/dataset' from a ref or a kaggle.com URL."""
    if not isinstance(ref, str):
        raise DataError(f"a Kaggle reference must be text, got {type(ref).__name__}")
    text = ref.strip()
    text = re.sub(r"^https?://(www\.)?kaggle\.com/", "", text)
    text = re.sub(r"^(competitions|c)/", "", text)
    text = re.sub(r"^datasets/", "", text)
    text = text.split("?")[0].strip("/")
    parts = text.split("/")
    if len(parts) == 2 and parts[1] in ("rules", "data", "overview"):
        text = parts[0]
    if not _REF.match(text):
        raise DataError(
            f"'{ref}' is not a Kaggle competition or dataset: expected a competition "
            f"name such as '{COMPETITION}' or a dataset 'owner/name' such as "
            f"'oddrationale/mnist-in-csv'"
        )
    return text


def default_dest(ref: str) -> Path:
    from .loading import DOWNLOAD_DIR

    ref = normalize_ref(ref)
    if "/" in ref:
        return DOWNLOAD_DIR / "datasets" / ref
    return DOWNLOAD_DIR / "competitions" / ref


def _has_data(folder: Path) -> bool:
    """Whether ``folder`` holds a loadable MNIST file (looking inside zips, not parsing)."""
    import zipfile

    from . import formats
    from .loading import list_local_files

    for f in list_local_files(folder):
        if formats.classify(f.name) != "zip":
            return True
        try:
            with zipfile.ZipFile(f) as z:
                formats.choose(
                    [i.filename for i in z.infolist() if not i.is_dir()], "train", f.name
                )
            return True
        except (DataError, zipfile.BadZipFile, OSError):
            continue
    return False


# ---------------------------------------------------------------- the API (lazy)


def _kaggle_api_class():
    """``KaggleApi``, imported with its import-time prints captured. Tests replace this."""
    with _quiet():
        from kaggle.api.kaggle_api_extended import KaggleApi
    return KaggleApi


@contextlib.contextmanager
def _quiet():
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield sink


def _api(creds: Credentials):
    try:
        api_class = _kaggle_api_class()
    except ImportError:
        raise DataError(
            "Kaggle downloads need the package kaggle: pip install kaggle==2.2.4"
        ) from None
    except SystemExit:
        raise DataError(f"the kaggle package found no usable credentials; {HOW_TO_SET}") from None
    with _quiet():
        try:
            api = api_class()
            if creds.where == "Streamlit secrets":
                # authenticate() would read only env/files, so the client gets them directly
                api.config_values = dict(creds.config_values())
            else:
                api.authenticate()
        except SystemExit:
            raise DataError(
                f"Kaggle did not accept the credentials from {creds.where} "
                f"(authentication failed): {HOW_TO_SET}"
            ) from None
    return api


_PATTERNS = re.compile(
    r"(?i)((?:token|key|password|secret|authorization)[\"']?\s*[=:]\s*[\"']?"
    r"(?:bearer\s+|basic\s+)?|bearer\s+|basic\s+)(?!<)[^\s,;)&\"']+"
)


def scrub(text: str, creds: Credentials | None = None, secrets: Mapping | None = None) -> str:
    """``text`` with every credential we can find (used, in secrets, env or files) masked."""
    known = [
        c
        for c in (creds, _from_mapping(secrets, "s"), _from_mapping(os.environ, "e"), _from_files())
        if c is not None
    ]
    for c in known:
        text = c.scrub(text)
    return _PATTERNS.sub(lambda m: m.group(1) + "***", text)


def _explain(error: BaseException, ref: str, creds: Credentials) -> DataError:
    status = getattr(getattr(error, "response", None), "status_code", None)
    competition = "/" not in ref
    if status == 401:
        text = f"Kaggle rejected the credentials from {creds.where} (HTTP 401): {HOW_TO_SET}"
    elif status == 403 and competition:
        text = (
            f"Kaggle refused the download of '{ref}' (HTTP 403): accept the competition rules "
            f"at {RULES_URL.format(name=ref)} while logged in as the account of your "
            f"credentials, then try again"
        )
    elif status == 403:
        text = (
            f"Kaggle refused the download of dataset '{ref}' (HTTP 403): it is private or "
            f"needs you to accept its terms at https://www.kaggle.com/datasets/{ref}"
        )
    elif status == 404:
        kind = "competition" if competition else "dataset"
        text = (
            f"Kaggle has no {kind} '{ref}' (HTTP 404): check the name, e.g. '{COMPETITION}' "
            f"or 'oddrationale/mnist-in-csv'"
        )
    elif status is not None:
        text = f"Kaggle answered HTTP {status} for '{ref}'; try again later"
    elif _is_network(error):
        text = (
            f"cannot reach Kaggle to download '{ref}' (no network? {type(error).__name__}). "
            f"The embedded sample works offline; or download the file on another machine "
            f"and load or upload it"
        )
    elif isinstance(error, SystemExit):
        text = (
            f"the Kaggle client stopped while downloading '{ref}' (credentials from "
            f"{creds.where} not usable?): {HOW_TO_SET}"
        )
    elif isinstance(error, OSError):
        text = f"cannot save the download of '{ref}': {error.strerror or type(error).__name__}"
    else:
        text = f"the Kaggle download of '{ref}' failed ({type(error).__name__}: {error})"
    return DataError(text[:1000])


def _is_network(error: BaseException) -> bool:
    names = {c.__name__ for c in type(error).__mro__}
    network = {
        "ConnectionError",
        "Timeout",
        "ConnectTimeout",
        "ReadTimeout",
        "ProxyError",
        "SSLError",
        "NewConnectionError",
        "MaxRetryError",
        "NameResolutionError",
        "gaierror",
        "timeout",
        "TimeoutError",
        "ConnectionRefusedError",
        "ChunkedEncodingError",
        "ProtocolError",
    }
    return bool(names & network)


# ---------------------------------------------------------------- download


def download(
    ref: str,
    dest: Path | str | None = None,
    progress: Progress | None = None,
    secrets: Mapping | None = None,
    *,
    force: bool = False,
    max_bytes: int | None = None,
) -> Path:
    """Download a competition (``digit-recognizer``) or dataset (``owner/name``) into ``dest``
    (default under data/downloads/) and return that folder; reused if it already holds data.

    ``progress(done_bytes, total_bytes_or_None)`` is called from the calling thread while the
    file arrives. The download goes to a temporary folder first, so a failed or interrupted
    download never replaces what was there. Raises DataError with what to do.

    ``max_bytes`` (default the upload limit, ``loading.MAX_UPLOAD_BYTES``: a larger file could
    not be read anyway): a file Kaggle announces as larger is refused before a byte is written,
    and one that streams past it is cut off there (:func:`_capped`); nothing is kept either way.
    """
    if max_bytes is None:
        from .loading import MAX_UPLOAD_BYTES

        max_bytes = MAX_UPLOAD_BYTES
    ref = normalize_ref(ref)
    dest = Path(dest) if dest is not None else default_dest(ref)
    if not force and dest.is_dir() and _has_data(dest):
        return dest
    creds = find_credentials(secrets)
    if creds is None:
        raise DataError(
            f"no Kaggle credentials found, so '{ref}' cannot be downloaded: "
            f"{HOW_TO_SET}. Without an account, the embedded sample works offline"
        )
    api = _capped(_api(creds), ref, int(max_bytes))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
        partial.mkdir()
    except OSError as e:
        raise DataError(
            f"cannot create the download folder {dest.parent}: {e.strerror or e}"
        ) from None
    try:
        got = _attempts(lambda: _call(api, ref, partial), partial, progress)
        if got > max_bytes:  # the counter saw every byte; this checks what is on disk too
            raise DataError(_too_large(ref, got, max_bytes))
        if not _has_data(partial):
            names = (
                ", ".join(sorted(p.name for p in partial.rglob("*") if p.is_file())) or "nothing"
            )
            raise DataError(f"the Kaggle download of '{ref}' holds no MNIST file (found {names})")
        dest.mkdir(parents=True, exist_ok=True)
        for item in partial.iterdir():
            target = dest / item.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    except DataError as e:
        raise DataError(scrub(str(e), creds, secrets)) from None
    except (Exception, SystemExit) as e:  # exit() in the client, HTTP and network errors
        raise DataError(scrub(str(_explain(e, ref, creds)), creds, secrets)) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return dest


MB = 1024 * 1024  # as NNMATH_MAX_UPLOAD_MB counts them


def _too_large(ref: str, size: int, max_bytes: int, verb: str = "is") -> str:
    return (
        f"the Kaggle download of '{ref}' {verb} {size / MB:,.1f} MB, more than this server's "
        f"limit of {max_bytes / MB:,.1f} MB (NNMATH_MAX_UPLOAD_MB), so nothing was kept"
    )


NETWORK_RETRIES = 2  # after a network error, the download starts again this many times
RETRY_WAIT_SECONDS = 2.0  # before the first retry; doubled before each next one


def _attempts(work: Callable[[], None], folder: Path, progress: Progress | None) -> int:
    """Run the download ``work`` into ``folder``; after a network error empty the folder and
    start again, up to :data:`NETWORK_RETRIES` times, so every attempt streams through the
    byte counter of :func:`_capped` (the client's own retry would re-request the file past it).
    Returns the bytes in ``folder`` at the end."""
    for attempt in range(NETWORK_RETRIES + 1):
        try:
            return _run_with_progress(work, folder, progress)
        except (Exception, SystemExit) as e:
            if attempt == NETWORK_RETRIES or isinstance(e, DataError) or not _is_network(e):
                raise
        for item in folder.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        time.sleep(RETRY_WAIT_SECONDS * 2**attempt)
    raise AssertionError("unreachable")  # the loop returns or raises


def _capped(api, ref: str, max_bytes: int):
    """``api`` with its ``download_file`` (every kaggle 2.x download goes through it) refusing a
    file larger than ``max_bytes``: by its Content-Length before anything is written, else
    counted while the chunks stream in, and stopped at the first one past the limit. Its own
    retries are turned off: they re-request the file with ``requests`` directly, past the
    counter (:func:`_attempts` retries instead)."""
    real = api.download_file
    own_retries = "max_retries" in inspect.signature(real).parameters

    def download_file(response, outfile, *args, **kwargs):
        announced = str(response.headers.get("Content-Length", "")).strip()
        if announced.isdigit() and int(announced) > max_bytes:
            raise DataError(_too_large(ref, int(announced), max_bytes))
        call = inspect.signature(real).bind(
            _Counted(response, ref, max_bytes), outfile, *args, **kwargs
        )
        if own_retries:
            call.arguments["max_retries"] = 0
        return real(*call.args, **call.kwargs)

    api.download_file = download_file
    return api


class _Counted:
    """A download response whose chunks are counted: past ``max_bytes``, DataError (not an
    error the client retries). Everything else is the response's own."""

    def __init__(self, response, ref: str, max_bytes: int):
        self._response, self._ref, self._max = response, ref, max_bytes

    def __getattr__(self, name):
        return getattr(self._response, name)

    def iter_content(self, chunk_size=1 << 20):
        r = self._response
        chunks = (
            r.iter_content(chunk_size)
            if hasattr(r, "iter_content")
            else iter(lambda: r.read(chunk_size), b"")  # a urllib3 HTTPResponse
        )
        seen = 0
        for chunk in chunks:
            seen += len(chunk)
            if seen > self._max:
                raise DataError(_too_large(self._ref, seen, self._max, "went past"))
            yield chunk


def _call(api, ref: str, folder: Path) -> None:
    with _quiet():
        if "/" in ref:
            api.dataset_download_files(ref, path=str(folder), quiet=True, unzip=False)
        else:
            api.competition_download_files(ref, path=str(folder), quiet=True)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def _run_with_progress(work: Callable[[], None], folder: Path, progress: Progress | None) -> int:
    """Run ``work`` in a thread; report the growing folder size from this thread (Streamlit
    elements can only be updated from the script's own thread). Returns the folder's size."""
    if progress is None:
        work()
        return _folder_bytes(folder)
    outcome: list[BaseException] = []

    def target():
        try:
            work()
        except (Exception, SystemExit) as e:  # handed to the calling thread
            outcome.append(e)

    worker = threading.Thread(target=target, name="kaggle-download", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(_POLL_SECONDS)
        progress(_folder_bytes(folder), None)
    if outcome:
        raise outcome[0]
    done = _folder_bytes(folder)
    progress(done, done)
    return done


# ---------------------------------------------------------------- submit

COMPETITION_TEST_ROWS = {COMPETITION: 28_000}
UPLOAD_FAILED = (
    "Could not submit to competition"  # KaggleApi.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE
)
Step = Callable[[str], object]


def submit(
    submission: str,
    message: str,
    competition: str = COMPETITION,
    secrets: Mapping | None = None,
    step: Step | None = None,
) -> str:
    """Submit a submission.csv text to a Kaggle competition; returns Kaggle's answer.

    The file is checked first (header ``ImageId,Label``, ids 1..n, digits, and 28,000 rows for
    digit-recognizer), so a malformed file is refused here with its line, not by Kaggle.
    ``step(text)`` is told each stage (checking, uploading, waiting). Raises DataError with
    what to do: no credentials, rules not accepted (403), malformed file (400), no network.
    Credentials never appear in a message.
    """
    from .submission import check_submission

    step = step or (lambda text: None)
    competition = normalize_ref(competition)
    if "/" in competition:
        raise DataError(f"competition must be a competition name, got dataset '{competition}'")
    message = (message or "").strip()
    if not message:
        raise DataError("message must describe the submission, got an empty message")
    step("Checking the file")
    rows = check_submission(submission, COMPETITION_TEST_ROWS.get(competition))
    creds = find_credentials(secrets)
    if creds is None:
        raise DataError(
            f"no Kaggle credentials found, so nothing was submitted to '{competition}': "
            f"{HOW_TO_SET}. Or download submission.csv and upload it at "
            f"https://www.kaggle.com/competitions/{competition}/submit"
        )
    api = _api(creds)
    with tempfile.TemporaryDirectory(prefix="nnmath-submit-") as folder:
        path = Path(folder) / "submission.csv"
        path.write_text(submission)
        step(f"Uploading submission.csv ({rows:,} rows) to '{competition}'")
        try:
            with _quiet():
                response = api.competition_submit(str(path), message[:500], competition, quiet=True)
        except (Exception, SystemExit) as e:  # exit() in the client, HTTP and network errors
            raise DataError(
                scrub(str(_explain_submit(e, competition, creds)), creds, secrets)
            ) from None
    answer = str(getattr(response, "message", "") or "").strip()
    if not answer or answer.startswith(UPLOAD_FAILED):
        raise DataError(
            f"Kaggle did not take the upload of submission.csv to '{competition}'"
            + (f" ({scrub(answer, creds, secrets)})" if answer else "")
            + "; try again later"
        )
    return scrub(answer, creds, secrets)[:1000]


def _explain_submit(error: BaseException, competition: str, creds: Credentials) -> DataError:
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status == 400:
        text = (
            f"Kaggle refused submission.csv for '{competition}' as malformed (HTTP 400): it "
            f"expects ImageId,Label with one row per image of the competition's test.csv"
        )
    elif status == 403:
        text = (
            f"Kaggle refused the submission to '{competition}' (HTTP 403): accept the "
            f"competition rules at {RULES_URL.format(name=competition)} while logged in as "
            f"the account of your credentials, then submit again"
        )
    elif status == 429:
        text = (
            f"Kaggle refused the submission to '{competition}' (HTTP 429): the daily "
            f"submission limit is reached; try again tomorrow"
        )
    elif status is None and _is_network(error):
        text = (
            f"cannot reach Kaggle to submit to '{competition}' (no network? "
            f"{type(error).__name__}). Download submission.csv and upload it at "
            f"https://www.kaggle.com/competitions/{competition}/submit from a connected machine"
        )
    elif status in (401, 404):
        return _explain(error, competition, creds)
    elif status is not None:
        text = (
            f"Kaggle answered HTTP {status} to the submission to '{competition}'; try again later"
        )
    elif isinstance(error, SystemExit):
        text = (
            f"the Kaggle client stopped while submitting to '{competition}' (credentials from "
            f"{creds.where} not usable?): {HOW_TO_SET}"
        )
    else:
        text = f"the submission to '{competition}' failed ({type(error).__name__}: {error})"
    return DataError(text[:1000])
