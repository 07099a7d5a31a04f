"""``load_from='hf-hub:<org>/<name>'`` and ``'timm://<name>'``: weights from the Hugging Face hub.

timm's hub repositories (``timm/resnet50.a1_in1k``) hold ``model.safetensors`` (or
``pytorch_model.bin``) and a ``config.json`` with the ``pretrained_cfg`` (mean, std, input
size). ``huggingface_hub`` downloads them into its cache; offline (``MMTL_OFFLINE=1`` or
``HF_HUB_OFFLINE=1``) it reads the cache only. mmtl's safe loader then reads the weights.
"""

import json
import os
import os.path as osp
import re
from typing import Optional, Tuple

from .checkpoint import CheckpointDownloadError, is_offline, rank_zero_first
from .errors import ConfigError, first_line

HUB_PREFIX = 'hf-hub:'
TIMM_PREFIX = 'timm://'
#: Weight files of a hub repository, in order of preference (safetensors: no pickle).
WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
CONFIG_FILE = 'config.json'
#: The largest ``config.json`` read (a pretrained_cfg is a few kB).
MAX_CONFIG_BYTES = 1 << 20
#: What the hub's answers may put into cache paths: a commit is 40 hex digits, an ETag one
#: token (a sha256 or a git object id, optionally quoted or weak).
_HEADER_FORMS = {
    'x-repo-commit': re.compile(r'[0-9a-f]{40}'),
    'x-linked-etag': re.compile(r'(W/)?"?[\w.-]{1,128}"?'),
    'etag': re.compile(r'(W/)?"?[\w.-]{1,128}"?'),
}
_REPO_ID = re.compile(r'[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}')
#: A branch, tag or commit: no path separators beyond single ``/`` inside, no ``..``.
_REVISION = re.compile(r'[\w.-]{1,100}(/[\w.-]{1,100}){0,4}')


def is_hub_ref(path: object) -> bool:
    """Whether ``path`` is an ``hf-hub:`` or ``timm://`` reference."""
    return isinstance(path, str) and path.startswith((HUB_PREFIX, TIMM_PREFIX))


def parse_hub_ref(ref: str) -> Tuple[str, str]:
    """Split a reference into the hub repository and its revision, both checked.

    Args:
        ref (str): ``hf-hub:<org>/<name>[@<revision>]`` or ``timm://<name>[@<revision>]``
            (the latter means ``hf-hub:timm/<name>``).

    Returns:
        tuple[str, str]: ``(repo_id, revision)``; the revision defaults to ``'main'``.

    Raises:
        ConfigError: ``ref`` does not name a repository, or its revision is not a plain
            branch, tag or commit name.
    """
    if ref.startswith(TIMM_PREFIX):
        body = 'timm/' + ref[len(TIMM_PREFIX) :]
    else:
        body = ref.removeprefix(HUB_PREFIX)
    repo_id, _, revision = body.partition('@')
    if not _REPO_ID.fullmatch(repo_id) or '..' in repo_id:
        raise ConfigError(
            f'load_from: {ascii(ref)} does not name a hub repository; expected '
            f'hf-hub:<org>/<name> (e.g. hf-hub:timm/resnet50.a1_in1k) or timm://<name>'
        )
    revision = revision or 'main'
    if not _REVISION.fullmatch(revision) or '..' in revision:
        raise ConfigError(
            f'load_from: {ascii(ref)}: the revision after @ must be a branch, tag or commit '
            f'name (letters, digits, . _ - /)'
        )
    return repo_id, revision


def hub_cache_dir() -> str:
    """The Hugging Face hub cache, from the environment now (huggingface_hub reads it on
    import)."""
    for name in ('HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE'):
        if os.environ.get(name):
            return osp.expanduser(os.environ[name])
    home = os.environ.get('HF_HOME') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.join('~', '.cache'), 'huggingface'
    )
    return osp.join(osp.expanduser(home), 'hub')


def _missing_message(ref: str, repo_id: str, reason: str) -> str:
    folder = osp.join(hub_cache_dir(), 'models--' + repo_id.replace('/', '--'))
    return (
        f'Could not get {ref} ({reason}). On a machine with internet access run '
        f'`huggingface-cli download {repo_id}` and copy the folder it fills, {folder}, to '
        f'the same place here; or point the config at a local copy: '
        f'--cfg-options load_from=/path/to/{WEIGHT_FILES[0]}'
    )


def check_hub_headers(response) -> None:
    """Refuse a hub answer whose commit or ETag header (joined into cache paths by
    huggingface_hub) is not a plain token: a hostile mirror could write outside the cache.

    Args:
        response: An ``httpx`` response of the hub.

    Raises:
        OSError: Naming the header (its value escaped and cut short); the download then
            fails as any other.
    """
    for name, form in _HEADER_FORMS.items():
        value = response.headers.get(name)
        if value is not None and not form.fullmatch(value):
            raise OSError(
                f'the hub server answered {name}: {ascii(value)[:80]}, which is no commit '
                f'or ETag; refusing its file'
            )


def _checked_client():
    """huggingface_hub's HTTP client, with :func:`check_hub_headers` on every answer."""
    from huggingface_hub.utils._http import default_client_factory

    client = default_client_factory()
    client.event_hooks['response'] = [*client.event_hooks.get('response', []), check_hub_headers]
    return client


def hub_weights_path(ref: str) -> str:
    """The local weight file of a hub reference, downloaded once (by rank 0) into the cache.

    Args:
        ref (str): ``hf-hub:<org>/<name>[@rev]`` or ``timm://<name>[@rev]``.

    Returns:
        str: Path of the cached ``model.safetensors`` or ``pytorch_model.bin``.

    Raises:
        ConfigError: ``ref`` is malformed.
        CheckpointDownloadError: The weights are not cached and cannot be downloaded.
    """
    from huggingface_hub import hf_hub_download, set_client_factory
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    repo_id, revision = parse_hub_ref(ref)
    set_client_factory(_checked_client)

    def fetch(may_download: bool) -> str:
        def download(name: str) -> str:
            return hf_hub_download(
                repo_id,
                name,
                revision=revision,
                cache_dir=hub_cache_dir(),
                endpoint=os.environ.get('HF_ENDPOINT') or None,
                local_files_only=is_offline() or not may_download,
            )

        reason = 'not found'
        for name in WEIGHT_FILES:
            try:
                path = download(name)
            except EntryNotFoundError:  # the repository has the other weight file
                continue
            except LocalEntryNotFoundError:
                reason = 'not in the cache, and downloads are off or failed'
                continue
            except (HfHubHTTPError, OSError, ValueError) as err:
                raise CheckpointDownloadError(
                    _missing_message(ref, repo_id, first_line(err, 200))
                ) from None
            try:  # the pretrained_cfg (mean, std, input size); the weights work without it
                download(CONFIG_FILE)
            except (HfHubHTTPError, OSError, ValueError):
                pass
            return path
        raise CheckpointDownloadError(_missing_message(ref, repo_id, reason))

    return rank_zero_first(fetch)


def read_hub_config(weights_path: str) -> Optional[dict]:
    """The ``config.json`` beside a weight file, if there is a readable one of sane size.

    Args:
        weights_path (str): A weight file (in a hub snapshot or any folder).

    Returns:
        dict | None: The parsed JSON object.
    """
    path = osp.join(osp.dirname(osp.abspath(osp.expanduser(weights_path))), CONFIG_FILE)
    try:
        if not osp.isfile(path) or osp.getsize(path) > MAX_CONFIG_BYTES:
            return None
        with open(path, encoding='utf-8') as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None
