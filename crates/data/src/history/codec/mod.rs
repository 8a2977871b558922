//! The Parquet codec shared by the tick-history schemas:
//!
//! - `chunk_file`: the file as the decoder reads it, a column chunk at a
//!   time;
//! - `columns`: typed access to the columns of a decoded batch;
//! - [`metadata`]: the key-value metadata of a file, and opening a file with it
//!   checked;
//! - `cursor`: reading the rows of a file, batch by batch, inside a time
//!   window;
//! - `hand_off`: the queue between a reader thread and its consumer;
//! - `rows`: the contract a row type fulfils (`Record`, `Decode`) and writing
//!   rows.
//!
//! Each row type (`trades`, `prices`, `funding`, `depth`) lives in its own file
//! beside this codec and knows nothing of the others.

pub(crate) mod chunk_file;
pub(crate) mod columns;
pub(crate) mod cursor;
pub(crate) mod hand_off;
pub mod metadata;
pub(crate) mod rows;
