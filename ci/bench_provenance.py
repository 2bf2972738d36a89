# SPDX-License-Identifier: GPL-2.0
"""Provenance of the benchmark results (review C9): which series, base
package and kernel configuration a raw result measured.

The series id is the sha256 of the series' `git patch-id --stable` ids,
one a line, in order: the code each patch changes, whatever its commit
message, date or the cover letter (ci/provision.sh compares kernel-tree/
with patches/ the same way).  ci/bench.sh takes it from kernel-tree/ (the
commits it built, base..HEAD, with no uncommitted change) and
ci/bench-report.py --check from patches/.  The series tree is the git tree
of the series' tip, the code a benchmark kernel is built from: a set
measured on the same tree stays valid when the series is only split
differently (patches reordered, a hunk moved to another patch), which
changes the series id but not one line of the result.

Used by ci/bench-host.py (stamping) and ci/bench-report.py (checking).
"""

import datetime
import glob
import hashlib
import json
import os
import re
import subprocess

# The marker of a set whose results predate provenance (C9): the files as
# they were, by sha256, and why nothing more is known.
UNKNOWN_MARKER = 'provenance-unknown.json'
UNKNOWN = 'unknown (before C9)'


def read_series_conf(root):
    """KEY="value" assignments of series.conf as a dict."""
    conf = {}
    with open(os.path.join(root, 'series.conf')) as f:
        for line in f:
            m = re.match(r'^([A-Z_][A-Z0-9_]*)="([^"]*)"\s*$', line)
            if m:
                conf[m.group(1)] = m.group(2)
    return conf


def base_package(root):
    """The pinned base package, "<package> <version>"."""
    conf = read_series_conf(root)
    return 'linux-source-{} {}'.format(conf.get('KVER_SERIES', '?'),
                                       conf.get('KSRC_VERSION', '?'))


def _patch_ids(diff_text):
    r = subprocess.run(['git', 'patch-id', '--stable'], input=diff_text,
                       stdout=subprocess.PIPE, check=True)
    return [l.split()[0] for l in r.stdout.decode().splitlines() if l.strip()]


def patch_ids_of_patches(patches_dir):
    """patch-ids of patches/NNNN-*.patch, the cover letter left out."""
    ids = []
    for p in sorted(glob.glob(os.path.join(patches_dir, '[0-9][0-9][0-9][0-9]-*.patch'))):
        if os.path.basename(p).startswith('0000-'):
            continue
        with open(p, 'rb') as f:
            ids += _patch_ids(f.read())
    return ids


def patch_ids_of_tree(ktree, rev='HEAD'):
    """patch-ids of the commits base..rev of a kernel tree."""
    log = subprocess.run(['git', '-C', ktree, 'log', '-p', '--reverse',
                          'base..' + rev], stdout=subprocess.PIPE,
                         check=True).stdout
    return _patch_ids(log)


def series_id(ids):
    return 'sha256:' + hashlib.sha256(
        ''.join(i + '\n' for i in ids).encode()).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return 'sha256:' + h.hexdigest()


def series_tree(ktree, ids):
    """The tree of kernel-tree's 'series' branch (the base with every patch
    applied) when its commits are the patches whose patch-ids are @ids,
    else None (no kernel tree, or one that differs from patches/)."""
    try:
        if patch_ids_of_tree(ktree, 'series') != ids:
            return None
        return subprocess.run(['git', '-C', ktree, 'rev-parse',
                               'series^{tree}'], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=True,
                              text=True).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        return None


def current(root, ktree=None):
    """The series and base the checkout describes now: @ktree (default
    $KTREE or kernel-tree/ of @root) gives the tree of the series' tip."""
    ids = patch_ids_of_patches(os.path.join(root, 'patches'))
    ktree = ktree or os.environ.get('KTREE') or os.path.join(root, 'kernel-tree')
    return {'series_id': series_id(ids), 'series_patches': len(ids),
            'series_tree': series_tree(ktree, ids),
            'base_package': base_package(root)}


def measured(root, ktree, kconfig, kernel, make_target):
    """Provenance of a run about to be made from kernel-tree's HEAD with the
    kernel configuration file kconfig."""
    dirty = subprocess.run(['git', '-C', ktree, 'status', '--porcelain',
                            '--untracked-files=no'], stdout=subprocess.PIPE,
                           check=True, text=True).stdout.strip()
    if dirty:
        raise ValueError('{} has uncommitted changes: the results would not '
                         'say what they measured'.format(ktree))
    ids = patch_ids_of_tree(ktree)
    head = subprocess.run(['git', '-C', ktree, 'rev-parse', 'HEAD'],
                          stdout=subprocess.PIPE, check=True,
                          text=True).stdout.strip()
    info = {}
    path = subprocess.run(['git', '-C', ktree, 'rev-parse', '--git-path',
                           'BASE_INFO'], stdout=subprocess.PIPE, check=True,
                          text=True).stdout.strip()
    try:
        with open(os.path.join(ktree, path)) as f:
            info = dict(l.rstrip('\n').split('=', 1) for l in f if '=' in l)
    except OSError:
        pass
    proj = subprocess.run(['git', '-C', root, 'rev-parse', 'HEAD'],
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    proj_dirty = subprocess.run(
        ['git', '-C', root, 'status', '--porcelain', '--untracked-files=no',
         '--', 'selftests', 'ci', 'configs'], stdout=subprocess.PIPE,
        text=True).stdout.strip()
    tree = subprocess.run(['git', '-C', ktree, 'rev-parse', 'HEAD^{tree}'],
                          stdout=subprocess.PIPE, check=True,
                          text=True).stdout.strip()
    return {
        'series_id': series_id(ids),
        'series_patches': len(ids),
        'series_tree': tree,
        'kernel_tree_head': head,
        'base_package': '{} {}'.format(info.get('package', '?'),
                                       info.get('version', '?')),
        'base_commit': info.get('base_commit', '?'),
        'kernel_config': kernel,
        'kernel_config_sha256': sha256_file(kconfig),
        'project_commit': proj + ('+uncommitted' if proj_dirty else ''),
        'make_target': make_target,
        'date': datetime.datetime.now(datetime.timezone.utc)
        .strftime('%Y-%m-%dT%H:%M:%SZ'),
    }


def stamp(path, prov):
    """Add the provenance to a result JSON (as its "provenance" key)."""
    with open(path) as f:
        data = json.load(f)
    data['provenance'] = prov
    with open(path, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')


def set_files(d):
    return sorted(f for f in os.listdir(d)
                  if f.endswith('.json') and f != UNKNOWN_MARKER)


def check_set(d, cur):
    """Judge a raw set against the current series.

    Returns (provenance or None, problems): provenance None with no problem
    is a set marked as before C9 whose files are exactly those marked."""
    name = os.path.basename(os.path.normpath(d))
    files = set_files(d)
    marker = os.path.join(d, UNKNOWN_MARKER)
    if os.path.exists(marker):
        with open(marker) as f:
            m = json.load(f)
        want = m.get('files', {})
        got = {fn: sha256_file(os.path.join(d, fn)) for fn in files}
        probs = []
        for fn in sorted(set(want) | set(got)):
            if fn not in got:
                probs.append('{}: {} is marked {} but missing'.format(
                    name, fn, UNKNOWN))
            elif fn not in want:
                probs.append('{}: {} is not among the files marked {} '
                             '({}): a new result needs provenance (make '
                             'bench)'.format(name, fn, UNKNOWN, UNKNOWN_MARKER))
            elif want[fn] != got[fn]:
                probs.append('{}: {} changed after it was marked {}'.format(
                    name, fn, UNKNOWN))
        return None, probs
    if not files:
        return None, ['{}: no results'.format(name)]
    provs = {}
    probs = []
    for fn in files:
        with open(os.path.join(d, fn)) as f:
            p = json.load(f).get('provenance')
        if not isinstance(p, dict) or 'series_id' not in p:
            probs.append('{}: {} records no provenance (series id, kernel '
                         'config hash)'.format(name, fn))
            continue
        provs[fn] = p
    keys = ('series_id', 'kernel_config_sha256', 'kernel_tree_head',
            'base_package')
    distinct = {tuple(p.get(k) for k in keys) for p in provs.values()}
    if len(distinct) > 1:
        probs.append('{}: its files record different series or kernel '
                      'configurations: {}'.format(
                          name, '; '.join(sorted('{}: {} {}'.format(
                              fn, p.get('series_id'),
                              p.get('kernel_config_sha256'))
                              for fn, p in provs.items()))))
    prov = next(iter(provs.values()), None)
    if prov:
        # The same code: another split of the same changes (patches
        # reordered, moved between commits) gives the same tree.
        same_tree = (prov.get('series_tree') is not None and
                     prov.get('series_tree') == cur.get('series_tree'))
        if prov['series_id'] != cur['series_id'] and not same_tree:
            probs.append(
                '{}: results of another series: measured {} ({} patches, '
                'kernel-tree {}, tree {}, {}), current series (patches/) is '
                '{} ({} patches, tree {}); run {}'.format(
                    name, prov['series_id'], prov.get('series_patches', '?'),
                    prov.get('kernel_tree_head', '?'),
                    prov.get('series_tree', 'not recorded'),
                    prov.get('date', '?'), cur['series_id'],
                    cur['series_patches'],
                    cur.get('series_tree') or 'unknown: no kernel-tree/ '
                    'made from patches/',
                    prov.get('make_target', 'make bench')))
        if prov.get('base_package') != cur['base_package']:
            probs.append('{}: results of another base: measured on {}, '
                         'series.conf pins {}'.format(
                             name, prov.get('base_package'),
                             cur['base_package']))
    return prov, probs


def describe(prov):
    """One line for the document's machine table."""
    if prov is None:
        return 'provenance ' + UNKNOWN
    return 'series {} ({} patches, kernel-tree {}), kernel config {}, {} ({})'.format(
        prov['series_id'][:19], prov.get('series_patches', '?'),
        prov.get('kernel_tree_head', '?')[:12],
        prov.get('kernel_config_sha256', '?')[:19],
        prov.get('make_target', '?'), prov.get('date', '?')[:10])
