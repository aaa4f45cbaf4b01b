//! A string interner: every distinct string is stored once in one arena and named by a dense
//! `u32`. Cluster names, label keys, label values, namespaces and group names share one pool.

use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// The id of an interned string.
pub type Sym = u32;

/// Interned strings: an append-only arena plus a hash table from content to id.
#[derive(Default)]
pub struct Interner {
    arena: String,
    /// `ends[i]` is the end offset of string `i` in `arena`; it starts where `i - 1` ends.
    ends: Vec<u32>,
    table: HashTable<Sym>,
}

fn hash_str(s: &str) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    h.write(s.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

impl Interner {
    /// The text of `sym`.
    pub fn resolve(&self, sym: Sym) -> &str {
        let i = sym as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.arena[start..self.ends[i] as usize]
    }

    /// The id of `s` if it was interned before.
    pub fn get(&self, s: &str) -> Option<Sym> {
        let h = hash_str(s);
        self.table.find(h, |&sym| self.resolve(sym) == s).copied()
    }

    /// The id of `s`, interning it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        let h = hash_str(s);
        let Self { arena, ends, table } = self;
        let view = |sym: Sym| {
            let i = sym as usize;
            let start = if i == 0 { 0 } else { ends[i - 1] as usize };
            &arena[start..ends[i] as usize]
        };
        if let Some(&sym) = table.find(h, |&sym| view(sym) == s) {
            return sym;
        }
        let sym = ends.len() as Sym;
        arena.push_str(s);
        ends.push(arena.len() as u32);
        let (arena_ref, ends_ref) = (&*arena, &*ends);
        table.insert_unique(h, sym, |&other| {
            let i = other as usize;
            let start = if i == 0 { 0 } else { ends_ref[i - 1] as usize };
            hash_str(&arena_ref[start..ends_ref[i] as usize])
        });
        sym
    }

    /// Bytes held (arena, offsets, table), for memory reports.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 4 + self.table.capacity() * 5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_resolves() {
        let mut i = Interner::default();
        let a = i.intern("alpha");
        let b = i.intern("beta");
        let e = i.intern("");
        assert_eq!(i.intern("alpha"), a);
        assert_ne!(a, b);
        assert_eq!(i.resolve(a), "alpha");
        assert_eq!(i.resolve(b), "beta");
        assert_eq!(i.resolve(e), "");
        assert_eq!(i.get("beta"), Some(b));
        assert_eq!(i.get("gamma"), None);
        for n in 0..5000 {
            let s = format!("c{n}");
            let id = i.intern(&s);
            assert_eq!(i.resolve(id), s);
        }
        assert_eq!(
            i.get("c4999").map(|s| i.resolve(s).to_owned()),
            Some("c4999".to_owned())
        );
    }
}
