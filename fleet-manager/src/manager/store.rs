//! The manager's state on disk: Fleet objects, registration tokens and agent credentials in one
//! redb database. Every write is one redb transaction, committed durably before the call returns,
//! so a crash loses no acknowledged write and never leaves half of a reconcile's writes behind.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Objects by `kind\0namespace\0name`, as JSON.
const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
/// Registration tokens by the SHA-256 of the secret.
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
/// Agent credentials by the SHA-256 of the secret → `namespace/name` of the cluster.
const CREDENTIALS: TableDefinition<&str, &str> = TableDefinition::new("credentials");

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened, read or written.
    #[error("store: {0}")]
    Db(#[from] redb::Error),
    /// A stored record does not decode (the database was written by something else).
    #[error("store: record {key:?} does not decode: {source}")]
    Decode {
        /// The record's key.
        key: String,
        /// Why.
        source: serde_json::Error,
    },
}

fn db<E: Into<redb::Error>>(e: E) -> Error {
    Error::Db(e.into())
}

/// A registration token as stored (the secret itself is never stored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    /// Namespace the registered clusters are created in.
    pub namespace: String,
    /// Expiry, seconds since the Unix epoch.
    pub expires_unix: u64,
}

/// One write of a transactional batch.
#[derive(Debug, Clone)]
pub enum Write {
    /// Create or replace an object.
    Put {
        /// Lower-case kind, e.g. `bundle`.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The object.
        object: Value,
    },
    /// Delete an object if it exists.
    Delete {
        /// Lower-case kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
}

fn key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind}\0{namespace}\0{name}")
}

/// What the manager needs from its state, so the server does not depend on redb itself.
pub trait Store: Send + Sync {
    /// Applies writes in one transaction: all of them or none.
    fn write(&self, writes: &[Write]) -> Result<(), Error>;
    /// One object.
    fn get(&self, kind: &str, namespace: &str, name: &str) -> Result<Option<Value>, Error>;
    /// All objects of a kind, ordered by namespace then name.
    fn list(&self, kind: &str) -> Result<Vec<Value>, Error>;
    /// Stores a registration token by the hash of its secret.
    fn put_token(&self, hash: &str, token: &TokenRecord) -> Result<(), Error>;
    /// The token for this hash if it is still valid at `now`; an expired token is deleted.
    fn valid_token(&self, hash: &str, now: u64) -> Result<Option<TokenRecord>, Error>;
    /// Stores an agent credential (by the hash of its secret) for a cluster.
    fn put_credential(&self, hash: &str, cluster: &str) -> Result<(), Error>;
    /// The cluster (`namespace/name`) a credential belongs to.
    fn credential(&self, hash: &str) -> Result<Option<String>, Error>;
    /// Deletes every credential of a cluster; returns how many.
    fn revoke(&self, cluster: &str) -> Result<usize, Error>;
}

/// The redb implementation of [`Store`].
pub struct RedbStore {
    db: Database,
}

impl RedbStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let database = Database::create(path).map_err(db)?;
        let txn = database.begin_write().map_err(db)?;
        txn.open_table(OBJECTS).map_err(db)?;
        txn.open_table(TOKENS).map_err(db)?;
        txn.open_table(CREDENTIALS).map_err(db)?;
        txn.commit().map_err(db)?;
        Ok(Self { db: database })
    }
}

fn decode<T: serde::de::DeserializeOwned>(k: &str, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::Decode {
        key: k.replace('\0', "/"),
        source,
    })
}

impl Store for RedbStore {
    fn write(&self, writes: &[Write]) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut t = txn.open_table(OBJECTS).map_err(db)?;
            for w in writes {
                match w {
                    Write::Put {
                        kind,
                        namespace,
                        name,
                        object,
                    } => {
                        let bytes = serde_json::to_vec(object).map_err(|source| Error::Decode {
                            key: key(kind, namespace, name),
                            source,
                        })?;
                        t.insert(key(kind, namespace, name).as_str(), bytes.as_slice())
                            .map_err(db)?;
                    }
                    Write::Delete {
                        kind,
                        namespace,
                        name,
                    } => {
                        t.remove(key(kind, namespace, name).as_str()).map_err(db)?;
                    }
                }
            }
        }
        txn.commit().map_err(db)
    }

    fn get(&self, kind: &str, namespace: &str, name: &str) -> Result<Option<Value>, Error> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(OBJECTS).map_err(db)?;
        let k = key(kind, namespace, name);
        match t.get(k.as_str()).map_err(db)? {
            Some(v) => decode(&k, v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn list(&self, kind: &str) -> Result<Vec<Value>, Error> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(OBJECTS).map_err(db)?;
        // `\0` sorts first and `\u{1}` right after it: this range is exactly the kind's keys.
        let start = format!("{kind}\0");
        let end = format!("{kind}\u{1}");
        let mut out = Vec::new();
        for entry in t.range(start.as_str()..end.as_str()).map_err(db)? {
            let (k, v) = entry.map_err(db)?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    fn put_token(&self, hash: &str, token: &TokenRecord) -> Result<(), Error> {
        let bytes = serde_json::to_vec(token).map_err(|source| Error::Decode {
            key: "token".into(),
            source,
        })?;
        let txn = self.db.begin_write().map_err(db)?;
        txn.open_table(TOKENS)
            .map_err(db)?
            .insert(hash, bytes.as_slice())
            .map_err(db)?;
        txn.commit().map_err(db)
    }

    fn valid_token(&self, hash: &str, now: u64) -> Result<Option<TokenRecord>, Error> {
        let txn = self.db.begin_write().map_err(db)?;
        let found = {
            let mut t = txn.open_table(TOKENS).map_err(db)?;
            let rec: Option<TokenRecord> = match t.get(hash).map_err(db)? {
                Some(v) => Some(decode("token", v.value())?),
                None => None,
            };
            match rec {
                Some(r) if r.expires_unix <= now => {
                    t.remove(hash).map_err(db)?;
                    None
                }
                other => other,
            }
        };
        txn.commit().map_err(db)?;
        Ok(found)
    }

    fn put_credential(&self, hash: &str, cluster: &str) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(db)?;
        txn.open_table(CREDENTIALS)
            .map_err(db)?
            .insert(hash, cluster)
            .map_err(db)?;
        txn.commit().map_err(db)
    }

    fn credential(&self, hash: &str) -> Result<Option<String>, Error> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(CREDENTIALS).map_err(db)?;
        Ok(t.get(hash).map_err(db)?.map(|v| v.value().to_owned()))
    }

    fn revoke(&self, cluster: &str) -> Result<usize, Error> {
        let txn = self.db.begin_write().map_err(db)?;
        let n = {
            let mut t = txn.open_table(CREDENTIALS).map_err(db)?;
            let mut hashes = Vec::new();
            for entry in t.iter().map_err(db)? {
                let (k, v) = entry.map_err(db)?;
                if v.value() == cluster {
                    hashes.push(k.value().to_owned());
                }
            }
            for h in &hashes {
                t.remove(h.as_str()).map_err(db)?;
            }
            hashes.len()
        };
        txn.commit().map_err(db)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_tokens_and_credentials_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(&dir.path().join("db")).unwrap();
        s.write(&[Write::Put {
            kind: "bundle".into(),
            namespace: "ns".into(),
            name: "b".into(),
            object: json!({"a": 1}),
        }])
        .unwrap();
        assert_eq!(s.get("bundle", "ns", "b").unwrap(), Some(json!({"a": 1})));
        assert!(s.list("bundlex").unwrap().is_empty());
        assert_eq!(s.list("bundle").unwrap().len(), 1);
        let t = TokenRecord {
            namespace: "ns".into(),
            expires_unix: 100,
        };
        s.put_token("h", &t).unwrap();
        assert_eq!(s.valid_token("h", 99).unwrap(), Some(t));
        assert_eq!(s.valid_token("h", 100).unwrap(), None);
        // The expired token was deleted, not merely refused.
        assert_eq!(s.valid_token("h", 0).unwrap(), None);
        s.put_credential("c1", "ns/x").unwrap();
        assert_eq!(s.credential("c1").unwrap().as_deref(), Some("ns/x"));
        assert_eq!(s.revoke("ns/x").unwrap(), 1);
        assert_eq!(s.credential("c1").unwrap(), None);
    }
}
