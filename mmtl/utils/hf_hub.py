"""``load_from='hf-hub:timm/<name>'`` and ``'timm://<name>'``: weights from the Hugging Face cache.

timm publishes its pretrained weights as Hugging Face hub repositories (``timm/resnet50.a1_in1k``)
holding ``model.safetensors`` (or ``pytorch_model.bin``) and a ``config.json`` with the
``pretrained_cfg`` (mean, std, input size). A reference is resolved through the local cache,
laid out as ``huggingface_hub`` lays it out::

    $HF_HUB_CACHE (or $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
    └── models--timm--resnet50.a1_in1k/
        ├── refs/main                      (the commit of the revision 'main')
        └── snapshots/<commit>/model.safetensors, config.json

so weights fetched once with ``huggingface-cli download timm/resnet50.a1_in1k`` (or by timm
itself) are found without network. A reference missing from the cache is downloaded once into
that layout; without network (or with ``MMTL_OFFLINE=1`` / ``HF_HUB_OFFLINE=1``) the run stops at
once with a message naming the exact path to put the file in. The file is then loaded by
mmtl's safe loader (safetensors preferred), which converts timm's layout on the fly.
"""

import http.client
import json
import os
import os.path as osp
import re
import urllib.error
import urllib.request
from typing import Any, List, Optional, Tuple

from mmengine.dist import barrier, get_dist_info

from .checkpoint import (
    DOWNLOAD_TIMEOUT_S,
    OFFLINE_ENV,
    CheckpointDownloadError,
    load_local_checkpoint,
    register_safe_scheme,
)
from .errors import ConfigError
from .fileio import atomic_open

HUB_PREFIX = 'hf-hub:'
TIMM_PREFIX = 'timm://'
#: Weight files of a hub repository, in order of preference (safetensors: no pickle).
WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
CONFIG_FILE = 'config.json'
DEFAULT_ENDPOINT = 'https://huggingface.co'
_REPO_ID = re.compile(r'[\w.-]+/[\w.-]+')


def is_hub_ref(path: Any) -> bool:
    """Whether ``path`` is an ``hf-hub:`` or ``timm://`` reference."""
    return isinstance(path, str) and path.startswith((HUB_PREFIX, TIMM_PREFIX))


def parse_hub_ref(ref: str) -> Tuple[str, str]:
    """Split a reference into the hub repository and its revision.

    Args:
        ref (str): ``hf-hub:<org>/<name>[@<revision>]`` or ``timm://<name>[@<revision>]``
            (the latter means ``hf-hub:timm/<name>``).

    Returns:
        tuple[str, str]: ``(repo_id, revision)``; the revision defaults to ``'main'``.

    Raises:
        ConfigError: ``ref`` does not name a repository.
    """
    if ref.startswith(TIMM_PREFIX):
        body = 'timm/' + ref[len(TIMM_PREFIX) :]
    elif ref.startswith(HUB_PREFIX):
        body = ref[len(HUB_PREFIX) :]
    else:
        raise ConfigError(f'load_from: not a hub reference: {ref!r}')
    repo_id, _, revision = body.partition('@')
    if not _REPO_ID.fullmatch(repo_id):
        raise ConfigError(
            f'load_from: {ref!r} does not name a hub repository; expected '
            f'hf-hub:<org>/<name> (e.g. hf-hub:timm/resnet50.a1_in1k) or timm://<name>'
        )
    return repo_id, revision or 'main'


def hub_cache_dir() -> str:
    """The Hugging Face hub cache (the environment variables huggingface_hub reads)."""
    for name in ('HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE'):
        if os.environ.get(name):
            return osp.expanduser(os.environ[name])
    home = os.environ.get('HF_HOME') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.join('~', '.cache'), 'huggingface'
    )
    return osp.join(osp.expanduser(home), 'hub')


def repo_cache_dir(repo_id: str) -> str:
    """``<cache>/models--<org>--<name>``: where one repository's files are cached."""
    return osp.join(hub_cache_dir(), 'models--' + repo_id.replace('/', '--'))


def snapshot_dir(repo_id: str, revision: str) -> Optional[str]:
    """The cached snapshot folder of ``revision`` (through ``refs/``), if there is one."""
    repo_dir = repo_cache_dir(repo_id)
    ref_file = osp.join(repo_dir, 'refs', revision)
    commit = revision
    if osp.isfile(ref_file):
        with open(ref_file) as f:
            commit = f.read().strip()
    folder = osp.join(repo_dir, 'snapshots', commit)
    return folder if osp.isdir(folder) else None


def cached_hub_weights(repo_id: str, revision: str = 'main') -> Optional[str]:
    """Path of the cached weight file of ``repo_id`` at ``revision``, or None.

    Args:
        repo_id (str): ``<org>/<name>``.
        revision (str): A branch, tag or commit. Defaults to ``'main'``.

    Returns:
        str | None: ``.../snapshots/<commit>/model.safetensors`` (preferred) or
        ``pytorch_model.bin``.
    """
    folder = snapshot_dir(repo_id, revision)
    if folder is None:
        return None
    for name in WEIGHT_FILES:
        path = osp.join(folder, name)
        if osp.isfile(path):
            return path
    return None


def _offline() -> bool:
    names = (OFFLINE_ENV, 'HF_HUB_OFFLINE')
    return any(os.environ.get(name, '0') not in ('', '0') for name in names)


def _download_repo_weights(repo_id: str, revision: str, timeout: float) -> str:
    """Download the weights (and config.json) of ``repo_id`` into the cache layout."""
    if _offline():
        raise OSError(f'{OFFLINE_ENV} or HF_HUB_OFFLINE is set, downloads are off')
    endpoint = os.environ.get('HF_ENDPOINT', DEFAULT_ENDPOINT).rstrip('/')
    last_error: Optional[Exception] = None
    for name in WEIGHT_FILES:
        url = f'{endpoint}/{repo_id}/resolve/{revision}/{name}'
        try:
            commit = _download_file(url, repo_id, revision, name, timeout)
        except urllib.error.HTTPError as err:
            if err.code == 404:  # this repository has the other weight file
                last_error = err
                continue
            raise
        try:  # the pretrained_cfg (mean, std, input size); the weights work without it
            _download_file(
                f'{endpoint}/{repo_id}/resolve/{commit}/{CONFIG_FILE}',
                repo_id,
                revision,
                CONFIG_FILE,
                timeout,
            )
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            pass
        return osp.join(repo_cache_dir(repo_id), 'snapshots', commit, name)
    raise OSError(f'no {" or ".join(WEIGHT_FILES)} in {repo_id} ({last_error})')


def _download_file(url: str, repo_id: str, revision: str, name: str, timeout: float) -> str:
    """Fetch ``url`` into ``snapshots/<commit>/<name>`` and point ``refs/<revision>`` at it."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        commit = response.headers.get('X-Repo-Commit') or revision
        target = osp.join(repo_cache_dir(repo_id), 'snapshots', commit, name)
        print(f'Downloading {url} to {target}', flush=True)
        with atomic_open(target, 'wb') as f:
            while chunk := response.read(1 << 20):
                f.write(chunk)
    if commit != revision:
        with atomic_open(osp.join(repo_cache_dir(repo_id), 'refs', revision), 'w') as f:
            f.write(commit)
    return commit


def _missing_message(ref: str, repo_id: str, revision: str, reason: str) -> str:
    target = osp.join(repo_cache_dir(repo_id), 'snapshots', revision, WEIGHT_FILES[0])
    hint = ''
    org, name = repo_id.split('/')
    if org == 'timm' and '.' not in name:  # timm's hub names are <model>.<pretrained tag>
        cached = [n for n in list_cached_timm_models() if n.startswith(name + '.')]
        hint = (
            ' timm names its weights <model>.<tag> (e.g. timm/resnet50.a1_in1k)'
            + (f'; cached here: {", ".join(cached)}' if cached else '')
            + '.'
        )
    return (
        f'Could not download {ref} ({reason}).{hint}\n'
        f'Either download it on a machine with internet access '
        f'(huggingface-cli download {repo_id}) and put its {WEIGHT_FILES[0]} '
        f'(or {WEIGHT_FILES[1]}) and {CONFIG_FILE} in\n'
        f'    {osp.dirname(target)}/\n'
        f'(the cache is under $HF_HOME, default ~/.cache/huggingface), or point the config at '
        f'a local copy:\n'
        f'    --cfg-options load_from=/path/to/{WEIGHT_FILES[0]}'
    )


def resolve_hub_checkpoint(ref: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> str:
    """The local weight file of a hub reference, downloaded once into the cache if needed.

    In a distributed run only rank 0 downloads; the other ranks wait and read the cache.

    Args:
        ref (str): ``hf-hub:<org>/<name>[@rev]`` or ``timm://<name>[@rev]``.
        timeout (float): Seconds to wait for the server. Defaults to 30.

    Returns:
        str: Path of the cached ``model.safetensors`` or ``pytorch_model.bin``.

    Raises:
        ConfigError: ``ref`` is malformed.
        CheckpointDownloadError: The weights are not cached and could not be downloaded.
    """
    repo_id, revision = parse_hub_ref(ref)
    path = cached_hub_weights(repo_id, revision)
    rank, world_size = get_dist_info()
    error = None
    if path is None and rank == 0:
        try:
            path = _download_repo_weights(repo_id, revision, timeout)
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as err:
            error = _missing_message(ref, repo_id, revision, str(err))
    if world_size > 1:
        barrier()
        path = cached_hub_weights(repo_id, revision)
    if error is not None or path is None:
        raise CheckpointDownloadError(
            error or _missing_message(ref, repo_id, revision, 'rank 0 did not cache it')
        )
    return path


def list_cached_timm_models() -> List[str]:
    """Names of the timm models (``resnet50.a1_in1k``, ...) that have cached weights."""
    root = hub_cache_dir()
    if not osp.isdir(root):
        return []
    names = []
    for entry in sorted(os.listdir(root)):
        if entry.startswith('models--timm--'):
            name = entry[len('models--timm--') :]
            if cached_hub_weights(f'timm/{name}'):
                names.append(name)
    return names


def read_hub_config(weights_path: str) -> Optional[dict]:
    """The ``config.json`` beside a weight file, if there is a readable one.

    Args:
        weights_path (str): A weight file (in a hub snapshot or any folder).

    Returns:
        dict | None: The parsed JSON object.
    """
    path = osp.join(osp.dirname(osp.abspath(osp.expanduser(weights_path))), CONFIG_FILE)
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def load_hub_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine checkpoint scheme for ``hf-hub:`` and ``timm://``: cache, then load safely."""
    return load_local_checkpoint(resolve_hub_checkpoint(filename), map_location=map_location)


def register_hf_hub_scheme() -> None:
    """Make mmengine resolve ``hf-hub:`` and ``timm://`` checkpoints through the hub cache.

    Registered as one of mmtl's safe schemes (it reads files only through
    :func:`~mmtl.utils.checkpoint.load_local_checkpoint`), so that
    :func:`~mmtl.utils.checkpoint.register_checkpoint_schemes` keeps it.
    """
    register_safe_scheme((HUB_PREFIX, TIMM_PREFIX), load_hub_checkpoint)
