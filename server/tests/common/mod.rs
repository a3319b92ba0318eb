//! What the server's integration tests share.

use std::net::SocketAddr;
use std::sync::Arc;

/// Starts the server on a free loopback port, on its own runtime thread.
pub(crate) fn start(mut config: filigree_server::Config) -> SocketAddr {
    let state = filigree_server::state(&mut config).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, filigree_server::router(Arc::clone(&state)))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}
