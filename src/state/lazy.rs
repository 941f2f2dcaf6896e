//! A part of the state that stays encoded, as the checkpoint stored it, until it is first used.
//!
//! Opening a project must not parse the history of every retained version, nor the file list of
//! a table that no statement reads: those parts keep the checkpoint's compressed bytes (checked
//! against their checksum when the checkpoint was read) and are decoded on first access.
//! Deref makes the laziness invisible to the code that reads the state; changes to a value not
//! yet decoded wait in order until it is ([`Lazy::defer`]), so that applying the log entries
//! after a checkpoint does not decode the file lists they append to.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A change waiting for the value to be decoded.
type Update<T> = Arc<dyn Fn(&mut T) + Send + Sync>;

/// A value that may still be in its encoded form (zstd-compressed JSON).
pub struct Lazy<T> {
    value: OnceLock<T>,
    /// The encoded form (once decoded, kept while it still matches the value).
    encoded: Option<Bytes>,
    /// Changes to apply after decoding, in order.
    pending: Vec<Update<T>>,
}

impl<T> Lazy<T> {
    /// A decoded value.
    pub fn new(value: T) -> Self {
        Self { value: OnceLock::from(value), encoded: None, pending: Vec::new() }
    }

    /// A value kept encoded until first use. `bytes` must have been checked (see
    /// [`crate::log::checkpoint`]): a decoding failure after that is a bug, not bad input.
    pub(crate) fn encoded(bytes: Bytes) -> Self {
        Self { value: OnceLock::new(), encoded: Some(bytes), pending: Vec::new() }
    }

    /// Applies `change` now if the value is decoded, else when it is.
    pub fn defer(&mut self, change: impl Fn(&mut T) + Send + Sync + 'static) {
        match self.value.get_mut() {
            Some(value) => {
                change(value);
                self.encoded = None;
            }
            None => self.pending.push(Arc::new(change)),
        }
    }

    /// The encoded form, when the value was read that way and has not changed since (a
    /// checkpoint then copies the bytes instead of encoding again).
    pub(crate) fn encoded_bytes(&self) -> Option<&Bytes> {
        self.encoded.as_ref().filter(|_| self.pending.is_empty())
    }

    /// True once decoded (or built decoded).
    pub fn is_decoded(&self) -> bool {
        self.value.get().is_some()
    }
}

/// How a part of the state is stored in a checkpoint.
pub trait Codec: Sized {
    /// The stored form.
    fn encode(&self) -> Result<Vec<u8>, String>;
    /// The inverse of [`Codec::encode`].
    fn decode(bytes: &[u8]) -> Result<Self, String>;
}

/// Compresses the JSON of `value` (the usual [`Codec`]).
pub(crate) fn encode_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    zstd::bulk::compress(&json, 3).map_err(|e| e.to_string())
}

/// The inverse of [`encode_json`].
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let json = zstd::stream::decode_all(bytes).map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

impl<T: Codec> Lazy<T> {
    /// The value, decoded now if it was not: an error when the bytes do not decode (they passed
    /// their checksum, so a build that writes what this one cannot read: a newer version of the
    /// time machine on the same warehouse, or a bug). Statements call this (through
    /// `ProjectState::check_decodable`) before they read, so that such a part fails the statement
    /// that needs it, not the process.
    pub fn try_get(&self) -> Result<&T, String> {
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let bytes = self.encoded.as_deref().unwrap_or_default();
        let mut value = T::decode(bytes).map_err(|e| {
            format!("a checkpoint part does not decode ({e}): was the warehouse written by a newer version?")
        })?;
        for change in &self.pending {
            change(&mut value);
        }
        // Another thread may have decoded the same bytes meanwhile: either value is the same.
        let _ = self.value.set(value);
        self.value.get().ok_or_else(|| "a decoded checkpoint part was lost".to_string())
    }
}

impl<T: Codec> Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self.try_get() {
            Ok(value) => value,
            // Reached only where no statement checked the part first (see `try_get`).
            Err(e) => panic!("{e}"),
        }
    }
}

impl<T: Codec> DerefMut for Lazy<T> {
    fn deref_mut(&mut self) -> &mut T {
        let _ = Deref::deref(self);
        self.encoded = None;
        self.pending.clear();
        match self.value.get_mut() {
            Some(value) => value,
            None => unreachable!("Deref::deref decodes or panics"),
        }
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Self { value: self.value.clone(), encoded: self.encoded.clone(), pending: self.pending.clone() }
    }
}

impl<T: Default> Default for Lazy<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Codec + PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Codec + fmt::Debug> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value.get() {
            Some(v) => v.fmt(f),
            None => write!(f, "<{} encoded bytes>", self.encoded.as_ref().map_or(0, Bytes::len)),
        }
    }
}

impl<T: Codec + Serialize> Serialize for Lazy<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lazy<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Codec for Vec<u64> {
        fn encode(&self) -> Result<Vec<u8>, String> {
            encode_json(self)
        }

        fn decode(bytes: &[u8]) -> Result<Self, String> {
            decode_json(bytes)
        }
    }

    fn encode<T: Codec>(value: &T) -> Result<Vec<u8>, String> {
        value.encode()
    }

    #[test]
    fn decodes_on_first_use_and_forgets_its_bytes_when_changed() {
        let bytes = Bytes::from(encode(&vec![1u64, 2, 3]).unwrap());
        let mut lazy: Lazy<Vec<u64>> = Lazy::encoded(bytes.clone());
        assert!(!lazy.is_decoded());
        assert_eq!(lazy.len(), 3);
        assert!(lazy.is_decoded());
        assert_eq!(lazy.encoded_bytes(), Some(&bytes));
        lazy.push(4);
        assert_eq!(*lazy, vec![1, 2, 3, 4]);
        assert_eq!(lazy.encoded_bytes(), None);
    }

    #[test]
    fn changes_wait_for_the_value_in_order() {
        let mut lazy: Lazy<Vec<u64>> = Lazy::encoded(Bytes::from(encode(&vec![1u64]).unwrap()));
        lazy.defer(|v| v.push(2));
        lazy.defer(|v| v.retain(|x| *x != 1));
        let copy = lazy.clone();
        assert!(!lazy.is_decoded());
        assert_eq!(lazy.encoded_bytes(), None, "the bytes no longer match the value");
        assert_eq!(*lazy, vec![2]);
        assert_eq!(*copy, vec![2]);
        lazy.defer(|v| v.push(3));
        assert_eq!(*lazy, vec![2, 3]);
    }
}
