//! The cluster store and its label index.
//!
//! Clusters get dense ids. Each label key has a column (cluster → value, dense or sparse), a
//! bitmap of the clusters that carry it, and postings value → clusters: a single cluster id
//! inline, or a roaring bitmap once a value is shared. Values unique to one cluster (such as a
//! `name` label) therefore cost four bytes in the postings instead of a bitmap.

use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use crate::intern::{Interner, Sym};
use crate::selector::{KeyId, LabelLookup};

/// Dense cluster id.
pub type ClusterId = u32;

const NONE: u32 = u32::MAX;
const MULTI: u32 = 1 << 31;

/// Postings of one key: value → clusters.
#[derive(Default)]
enum Heads {
    #[default]
    Empty,
    Map(FxHashMap<Sym, u32>),
    /// Indexed by value symbol; used once a key has many distinct values.
    Wide(Vec<u32>),
}

const WIDE_AT: usize = 4096;

/// Adds ids to a bitmap. Staged ids come in increasing order (a bulk load hands ids out one
/// after the other), so they usually append as one sorted run, which is much cheaper than
/// inserting them one by one; whatever does not fit the run is inserted. (Consecutive ids are
/// deliberately not added as ranges: roaring would keep them in run containers, which make
/// the set algebra of targeting several times slower.)
fn add_run(bitmap: &mut RoaringBitmap, ids: &mut Vec<ClusterId>) {
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        ids.sort_unstable();
        ids.dedup();
    }
    let appended = match bitmap.append(ids.iter().copied()) {
        Ok(n) => n as usize,
        Err(e) => e.valid_until() as usize,
    };
    for &c in &ids[appended..] {
        bitmap.insert(c);
    }
    ids.clear();
}

/// A reference to the clusters holding one value.
pub enum Posting<'a> {
    /// Nobody.
    None,
    /// Exactly one cluster.
    One(ClusterId),
    /// Several clusters.
    Many(&'a RoaringBitmap),
}

impl Posting<'_> {
    /// Number of clusters.
    pub fn len(&self) -> u64 {
        match self {
            Posting::None => 0,
            Posting::One(_) => 1,
            Posting::Many(b) => b.len(),
        }
    }

    /// Adds the clusters to `acc`.
    pub fn union_into(&self, acc: &mut RoaringBitmap) {
        match self {
            Posting::None => {}
            Posting::One(c) => {
                acc.insert(*c);
            }
            Posting::Many(b) => *acc |= *b,
        }
    }
}

/// Column of one key: cluster → value.
enum Column {
    Sparse(FxHashMap<ClusterId, Sym>),
    Dense(Vec<Sym>),
}

/// Everything indexed about one label key.
pub struct KeyIndex {
    /// Clusters carrying the key.
    pub present: RoaringBitmap,
    column: Column,
    heads: Heads,
    multi: Vec<RoaringBitmap>,
    /// Number of clusters in each `multi[i]`: a removal learns whether one cluster is left
    /// without `RoaringBitmap::len`, which walks every container of the bitmap (sixteen
    /// container headers per value at a million clusters, on every relabel).
    multi_len: Vec<u32>,
    free_multi: Vec<u32>,
    /// Additions to `present` held back during a bulk load.
    staged_present: Vec<ClusterId>,
    /// Additions to `multi[i]` held back during a bulk load, as `(i, cluster)`.
    staged_multi: Vec<(u32, ClusterId)>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex {
            present: RoaringBitmap::new(),
            column: Column::Sparse(FxHashMap::default()),
            heads: Heads::Empty,
            multi: Vec::new(),
            multi_len: Vec::new(),
            free_multi: Vec::new(),
            staged_present: Vec::new(),
            staged_multi: Vec::new(),
        }
    }
}

impl KeyIndex {
    fn head(&self, v: Sym) -> u32 {
        match &self.heads {
            Heads::Empty => NONE,
            Heads::Map(m) => m.get(&v).copied().unwrap_or(NONE),
            Heads::Wide(w) => w.get(v as usize).copied().unwrap_or(NONE),
        }
    }

    fn set_head(&mut self, v: Sym, h: u32) {
        if matches!(self.heads, Heads::Empty) {
            self.heads = Heads::Map(FxHashMap::default());
        }
        if let Heads::Map(m) = &mut self.heads
            && m.len() >= WIDE_AT
        {
            let max = m.keys().copied().max().unwrap_or(0).max(v) as usize;
            let mut w = vec![NONE; max + 1];
            for (k, x) in m.drain() {
                w[k as usize] = x;
            }
            self.heads = Heads::Wide(w);
        }
        match &mut self.heads {
            Heads::Map(m) => {
                if h == NONE {
                    m.remove(&v);
                } else {
                    m.insert(v, h);
                }
            }
            Heads::Wide(w) => {
                let i = v as usize;
                if i >= w.len() {
                    if h == NONE {
                        return;
                    }
                    let new_len = (i + 1).max(w.len() + w.len() / 2);
                    w.resize(new_len, NONE);
                }
                w[i] = h;
            }
            Heads::Empty => {}
        }
    }

    /// The clusters with value `v`.
    pub fn posting(&self, v: Sym) -> Posting<'_> {
        let h = self.head(v);
        if h == NONE {
            Posting::None
        } else if h & MULTI != 0 {
            Posting::Many(&self.multi[(h & !MULTI) as usize])
        } else {
            Posting::One(h)
        }
    }

    /// The value of this key on cluster `c`.
    pub fn value(&self, c: ClusterId) -> Option<Sym> {
        match &self.column {
            Column::Sparse(m) => m.get(&c).copied(),
            Column::Dense(v) => v.get(c as usize).copied().filter(|&s| s != NONE),
        }
    }

    /// Applies the staged bitmap additions.
    fn flush(&mut self) {
        add_run(&mut self.present, &mut self.staged_present);
        // Stable: each bitmap's ids stay in the order they were staged.
        self.staged_multi.sort_by_key(|&(i, _)| i);
        let mut run = Vec::new();
        let mut staged = std::mem::take(&mut self.staged_multi);
        for chunk in staged.chunk_by(|a, b| a.0 == b.0) {
            run.extend(chunk.iter().map(|&(_, c)| c));
            let i = chunk[0].0 as usize;
            add_run(&mut self.multi[i], &mut run);
            self.multi_len[i] = self.multi[i].len() as u32;
        }
        staged.clear();
        self.staged_multi = staged;
    }

    fn add(&mut self, c: ClusterId, v: Sym, staging: bool) {
        if staging {
            self.staged_present.push(c);
        } else {
            self.present.insert(c);
        }
        self.add_value(c, v, staging);
    }

    /// Adds `c` to the column and to the postings of `v` (`present` already holds it).
    fn add_value(&mut self, c: ClusterId, v: Sym, staging: bool) {
        match &mut self.column {
            Column::Sparse(m) => {
                m.insert(c, v);
                let highest = self
                    .present
                    .max()
                    .max(self.staged_present.last().copied())
                    .unwrap_or(0);
                if m.len() > 1024 && m.len() * 8 > highest as usize {
                    let max = m.keys().copied().max().unwrap_or(0) as usize;
                    let mut d = vec![NONE; max + 1];
                    for (&k, &x) in m.iter() {
                        d[k as usize] = x;
                    }
                    self.column = Column::Dense(d);
                }
            }
            Column::Dense(d) => {
                let i = c as usize;
                if i >= d.len() {
                    let new_len = (i + 1).max(d.len() + d.len() / 2);
                    d.resize(new_len, NONE);
                }
                d[i] = v;
            }
        }
        let h = self.head(v);
        if h == NONE {
            self.set_head(v, c);
        } else if h & MULTI != 0 {
            let i = h & !MULTI;
            if staging {
                self.staged_multi.push((i, c));
            } else {
                let i = i as usize;
                self.multi_len[i] += u32::from(self.multi[i].insert(c));
            }
        } else {
            let mut b = RoaringBitmap::new();
            b.insert(h);
            b.insert(c);
            let idx = match self.free_multi.pop() {
                Some(i) => {
                    self.multi[i as usize] = b;
                    self.multi_len[i as usize] = 2;
                    i
                }
                None => {
                    self.multi.push(b);
                    self.multi_len.push(2);
                    (self.multi.len() - 1) as u32
                }
            };
            self.set_head(v, MULTI | idx);
        }
    }

    fn remove(&mut self, c: ClusterId, v: Sym) {
        self.present.remove(c);
        self.remove_value(c, v);
    }

    /// Replaces the value of a cluster that keeps the key: `present` stays as it is.
    fn change_value(&mut self, c: ClusterId, old: Sym, new: Sym) {
        self.remove_value(c, old);
        self.add_value(c, new, false);
    }

    /// Removes `c` from the column and from the postings of `v` (not from `present`).
    fn remove_value(&mut self, c: ClusterId, v: Sym) {
        match &mut self.column {
            Column::Sparse(m) => {
                m.remove(&c);
            }
            Column::Dense(d) => {
                if let Some(x) = d.get_mut(c as usize) {
                    *x = NONE;
                }
            }
        }
        let h = self.head(v);
        if h == NONE {
            return;
        }
        if h & MULTI != 0 {
            let idx = (h & !MULTI) as usize;
            let b = &mut self.multi[idx];
            self.multi_len[idx] -= u32::from(b.remove(c));
            if self.multi_len[idx] == 1 {
                let only = b.min().unwrap_or(NONE);
                self.multi[idx] = RoaringBitmap::new();
                self.multi_len[idx] = 0;
                self.free_multi.push(idx as u32);
                self.set_head(v, only);
            }
        } else if h == c {
            self.set_head(v, NONE);
        }
    }

    /// Drops trailing empty slots and spare capacity (after a bulk load).
    fn compact(&mut self) {
        self.staged_present = Vec::new();
        self.staged_multi = Vec::new();
        if let Column::Dense(d) = &mut self.column {
            let keep = d.iter().rposition(|&x| x != NONE).map_or(0, |i| i + 1);
            d.truncate(keep);
            d.shrink_to_fit();
        }
        if let Heads::Wide(w) = &mut self.heads {
            let keep = w.iter().rposition(|&x| x != NONE).map_or(0, |i| i + 1);
            w.truncate(keep);
            w.shrink_to_fit();
        }
    }

    fn heap_bytes(&self) -> usize {
        let col = match &self.column {
            Column::Sparse(m) => m.capacity() * 9,
            Column::Dense(d) => d.capacity() * 4,
        };
        let heads = match &self.heads {
            Heads::Empty => 0,
            Heads::Map(m) => m.capacity() * 9,
            Heads::Wide(w) => w.capacity() * 4,
        };
        col + heads
            + self.multi_len.capacity() * 4
            + self.present.serialized_size()
            + self
                .multi
                .iter()
                .map(|b| b.serialized_size())
                .sum::<usize>()
    }
}

/// The cluster store: names, namespaces, labels.
#[derive(Default)]
pub struct ClusterIndex {
    /// Name symbol per cluster id (`NONE` for a free slot).
    names: Vec<Sym>,
    /// Namespace symbol per cluster id.
    namespaces: Vec<Sym>,
    /// Live clusters.
    pub alive: RoaringBitmap,
    free: Vec<ClusterId>,
    /// The first cluster with a given name, by name symbol.
    name_head: Vec<u32>,
    /// Further clusters sharing a name (in other namespaces).
    name_rest: FxHashMap<Sym, Vec<ClusterId>>,
    /// Live clusters per namespace.
    pub by_namespace: FxHashMap<Sym, RoaringBitmap>,
    /// Per key id.
    pub keys: Vec<KeyIndex>,
    /// Key symbol → key id.
    key_ids: FxHashMap<Sym, KeyId>,
    /// Key id → key symbol.
    key_syms: Vec<Sym>,
    /// Whether bitmap additions are held back ([`ClusterIndex::begin_bulk`]).
    staging: bool,
    /// Additions to `alive` held back.
    staged_alive: Vec<ClusterId>,
    /// Additions to `by_namespace` held back, as `(namespace, cluster)`.
    staged_namespaces: Vec<(Sym, ClusterId)>,
}

/// One cluster's labels read through the index columns.
pub struct ClusterLabels<'a> {
    index: &'a ClusterIndex,
    cluster: ClusterId,
}

impl LabelLookup for ClusterLabels<'_> {
    fn get(&self, key: KeyId) -> Option<Sym> {
        self.index.keys.get(key as usize)?.value(self.cluster)
    }
}

impl ClusterIndex {
    /// The key id for a key symbol, creating an empty key entry when new.
    pub fn ensure_key(&mut self, key: Sym) -> KeyId {
        if let Some(&k) = self.key_ids.get(&key) {
            return k;
        }
        let k = self.keys.len() as KeyId;
        self.keys.push(KeyIndex::default());
        self.key_syms.push(key);
        self.key_ids.insert(key, k);
        k
    }

    /// The symbol of a key id.
    pub fn key_sym(&self, key: KeyId) -> Sym {
        self.key_syms[key as usize]
    }

    /// Looks a cluster up by namespace and name.
    pub fn find(&self, ns: Sym, name: Sym) -> Option<ClusterId> {
        let h = *self.name_head.get(name as usize)?;
        if h == NONE {
            return None;
        }
        if self.namespaces[h as usize] == ns {
            return Some(h);
        }
        self.name_rest
            .get(&name)?
            .iter()
            .copied()
            .find(|&c| self.namespaces[c as usize] == ns)
    }

    /// Every cluster with this resource name, in any namespace.
    pub fn clusters_named(&self, name: Sym, out: &mut RoaringBitmap) {
        let Some(&h) = self.name_head.get(name as usize) else {
            return;
        };
        if h == NONE {
            return;
        }
        out.insert(h);
        if let Some(rest) = self.name_rest.get(&name) {
            out.extend(rest.iter().copied());
        }
    }

    /// Name symbol of a live cluster.
    pub fn name(&self, c: ClusterId) -> Sym {
        self.names[c as usize]
    }

    /// Namespace symbol of a live cluster.
    pub fn namespace(&self, c: ClusterId) -> Sym {
        self.namespaces[c as usize]
    }

    /// Label access for a cluster.
    pub fn labels(&self, c: ClusterId) -> ClusterLabels<'_> {
        ClusterLabels {
            index: self,
            cluster: c,
        }
    }

    /// The labels of a cluster as `(key, value)` sorted by key id.
    pub fn label_list(&self, c: ClusterId) -> Vec<(KeyId, Sym)> {
        let mut out = Vec::with_capacity(self.keys.len());
        for (k, ki) in self.keys.iter().enumerate() {
            if let Some(v) = ki.value(c) {
                out.push((k as KeyId, v));
            }
        }
        out
    }

    /// Starts holding back bitmap additions: [`ClusterIndex::insert`] then only records which
    /// ids go into which bitmap, and [`ClusterIndex::end_bulk`] adds them as sorted runs.
    /// Until then the bitmaps (and [`ClusterIndex::len`]) do not show the new clusters; only
    /// `insert`, `find` and `label_list` may be called.
    pub fn begin_bulk(&mut self) {
        self.staging = true;
    }

    /// Applies the held-back bitmap additions and stops holding them back.
    pub fn end_bulk(&mut self) {
        self.staging = false;
        add_run(&mut self.alive, &mut self.staged_alive);
        self.staged_namespaces.sort_by_key(|&(ns, _)| ns);
        let mut staged = std::mem::take(&mut self.staged_namespaces);
        let mut run = Vec::new();
        for chunk in staged.chunk_by(|a, b| a.0 == b.0) {
            run.extend(chunk.iter().map(|&(_, c)| c));
            add_run(self.by_namespace.entry(chunk[0].0).or_default(), &mut run);
        }
        staged.clear();
        self.staged_namespaces = staged;
        for k in &mut self.keys {
            k.flush();
        }
    }

    /// Inserts a new cluster (the caller checked it does not exist).
    pub fn insert(&mut self, ns: Sym, name: Sym, labels: &[(KeyId, Sym)]) -> ClusterId {
        let c = match self.free.pop() {
            Some(c) => {
                self.names[c as usize] = name;
                self.namespaces[c as usize] = ns;
                c
            }
            None => {
                self.names.push(name);
                self.namespaces.push(ns);
                (self.names.len() - 1) as ClusterId
            }
        };
        if self.staging {
            self.staged_alive.push(c);
            self.staged_namespaces.push((ns, c));
        } else {
            self.alive.insert(c);
            self.by_namespace.entry(ns).or_default().insert(c);
        }
        let ni = name as usize;
        if ni >= self.name_head.len() {
            let new_len = (ni + 1).max(self.name_head.len() + self.name_head.len() / 2);
            self.name_head.resize(new_len, NONE);
        }
        if self.name_head[ni] == NONE {
            self.name_head[ni] = c;
        } else {
            self.name_rest.entry(name).or_default().push(c);
        }
        for &(k, v) in labels {
            self.keys[k as usize].add(c, v, self.staging);
        }
        c
    }

    /// Replaces the labels of a cluster; `old` and `new` sorted by key.
    pub fn relabel(&mut self, c: ClusterId, old: &[(KeyId, Sym)], new: &[(KeyId, Sym)]) {
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            let ko = old.get(i).map(|x| x.0).unwrap_or(KeyId::MAX);
            let kn = new.get(j).map(|x| x.0).unwrap_or(KeyId::MAX);
            if ko == kn {
                if old[i].1 != new[j].1 {
                    self.keys[ko as usize].change_value(c, old[i].1, new[j].1);
                }
                i += 1;
                j += 1;
            } else if ko < kn {
                self.keys[ko as usize].remove(c, old[i].1);
                i += 1;
            } else {
                self.keys[kn as usize].add(c, new[j].1, false);
                j += 1;
            }
        }
    }

    /// Removes a cluster.
    pub fn remove(&mut self, c: ClusterId) {
        let labels = self.label_list(c);
        for (k, v) in labels {
            self.keys[k as usize].remove(c, v);
        }
        let name = self.names[c as usize];
        let ns = self.namespaces[c as usize];
        if let Some(b) = self.by_namespace.get_mut(&ns) {
            b.remove(c);
        }
        let ni = name as usize;
        if self.name_head[ni] == c {
            let next = match self.name_rest.get_mut(&name) {
                Some(rest) => {
                    let n = rest.pop().unwrap_or(NONE);
                    if rest.is_empty() {
                        self.name_rest.remove(&name);
                    }
                    n
                }
                None => NONE,
            };
            self.name_head[ni] = next;
        } else if let Some(rest) = self.name_rest.get_mut(&name) {
            rest.retain(|&x| x != c);
            if rest.is_empty() {
                self.name_rest.remove(&name);
            }
        }
        self.alive.remove(c);
        self.names[c as usize] = NONE;
        self.free.push(c);
    }

    /// Drops spare capacity of the columns and tables (after a bulk load), and the bulk
    /// load's staging buffers.
    pub fn compact(&mut self) {
        for k in &mut self.keys {
            k.compact();
        }
        self.staged_alive = Vec::new();
        self.staged_namespaces = Vec::new();
        let keep = self
            .name_head
            .iter()
            .rposition(|&x| x != NONE)
            .map_or(0, |i| i + 1);
        self.name_head.truncate(keep);
        self.name_head.shrink_to_fit();
        self.names.shrink_to_fit();
        self.namespaces.shrink_to_fit();
    }

    /// Number of live clusters.
    pub fn len(&self) -> usize {
        self.alive.len() as usize
    }

    /// Approximate heap bytes of the store and the index.
    pub fn heap_bytes(&self) -> usize {
        self.names.capacity() * 8
            + self.name_head.capacity() * 4
            + self.alive.serialized_size()
            + self.keys.iter().map(KeyIndex::heap_bytes).sum::<usize>()
            + self
                .by_namespace
                .values()
                .map(|b| b.serialized_size())
                .sum::<usize>()
    }

    /// Resolves a label list into strings (for output).
    pub fn label_strings(&self, strings: &Interner, c: ClusterId) -> Vec<(String, String)> {
        self.label_list(c)
            .into_iter()
            .map(|(k, v)| {
                (
                    strings.resolve(self.key_sym(k)).to_owned(),
                    strings.resolve(v).to_owned(),
                )
            })
            .collect()
    }
}
