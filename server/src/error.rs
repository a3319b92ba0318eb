//! Why `filigree serve` could not start or stopped: one line each for the user.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A server that could not start, or that failed while serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The package, a key, the ledger or a live render failed in the library.
    #[error(transparent)]
    Library(#[from] filigree::Error),

    /// The token key is the marking key: a viewer's token would then reveal it.
    #[error("the token key must not be the marking key")]
    TokenKeyIsMarkingKey,

    /// A file of the web player is not where the server looks for it.
    #[error("web player file {} is missing (run `npm ci --prefix server/web`)", path.display())]
    PlayerFileMissing {
        /// The missing file.
        path: PathBuf,
    },

    /// An edge folder or one of its files cannot be written, or a path given cannot be read.
    #[error("edge: {}: {source}", path.display())]
    EdgeFolder {
        /// The folder or file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The folder holds an edge's configuration already.
    #[error("{} holds an edge already: remove it or choose another folder", .0.display())]
    EdgeExists(PathBuf),

    /// A package prepared before edges read per-segment WMPaceInfo.
    #[error("{} has no per-segment WMPaceInfo: prepare it again with this filigree", package.display())]
    EdgeNeedsPaceInfo {
        /// The package folder.
        package: PathBuf,
    },

    /// Two packages of one title.
    #[error("two packages of title {0}: an edge serves each title from one package")]
    EdgeTitleTwice(u16),

    /// Live sessions were asked for without a ledger (their overlay and label are there).
    #[error("live sessions need a ledger (their overlay and label are there)")]
    LiveNeedsLedger,

    /// The live master is not the file the package was prepared from.
    #[error("{} is not the master {} was prepared from", master.display(), package.display())]
    NotTheMaster {
        /// The master given.
        master: PathBuf,
        /// The package folder.
        package: PathBuf,
    },

    /// The live master cannot be read.
    #[error("cannot read the master {}: {source}", path.display())]
    MasterUnreadable {
        /// The master given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The live work folder cannot be created or read.
    #[error("cannot {action} the live work folder {}: {source}", path.display())]
    WorkFolder {
        /// `create` or `read`.
        action: &'static str,
        /// The work folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The async runtime could not start.
    #[error("cannot start the server runtime: {0}")]
    Runtime(#[source] io::Error),

    /// The listening address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The bound address could not be read back.
    #[error("cannot read the bound address: {0}")]
    BoundAddress(#[source] io::Error),

    /// Serving failed after start-up.
    #[error("server failed: {0}")]
    Serve(#[source] io::Error),
}
