//! A write half that holds what is written until it is flushed, then hands it to the socket
//! in one write: a client that has fallen behind gets its queued frames in one syscall instead
//! of one each. The buffer exists only between the first write and the flush, so an idle
//! socket holds none.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, ready},
};

use tokio::io::AsyncWrite;

pub struct Batching<W> {
    inner: W,
    pending: Vec<u8>,
    /// How much of `pending` the socket has taken.
    written: usize,
    /// Bytes the socket has taken in all, so a writer can tell a slow client (still taking
    /// bytes) from a stuck one.
    progress: Arc<AtomicU64>,
}

impl<W> Batching<W> {
    pub fn new(inner: W, progress: Arc<AtomicU64>) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
            progress,
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Batching<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    // fastwebsockets hands large frames over as header + payload slices: take them all, so it
    // need not copy them into a buffer of its own first (which it would keep per socket).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut taken = 0;
        for buf in bufs {
            this.pending.extend_from_slice(buf);
            taken += buf.len();
        }
        Poll::Ready(Ok(taken))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.written < this.pending.len() {
            let n =
                ready!(Pin::new(&mut this.inner).poll_write(cx, &this.pending[this.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.written += n;
            this.progress.fetch_add(n as u64, Ordering::Relaxed);
        }
        // Released, not kept: most sockets are idle most of the time.
        this.pending = Vec::new();
        this.written = 0;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn nothing_reaches_the_socket_before_the_flush_and_everything_after() {
        let (client, mut server) = tokio::io::duplex(64);
        let progress = Arc::new(AtomicU64::new(0));
        let mut batching = Batching::new(client, progress.clone());
        batching.write_all(b"first ").await.unwrap();
        batching.write_all(b"second").await.unwrap();
        let mut probe = [0u8; 16];
        let mut cx = Context::from_waker(Waker::noop());
        let mut read_buf = tokio::io::ReadBuf::new(&mut probe);
        assert!(
            Pin::new(&mut server)
                .poll_read(&mut cx, &mut read_buf)
                .is_pending(),
            "nothing written before the flush"
        );
        // More than the pipe holds at once: the flush must finish partial writes.
        let long = vec![b'x'; 200];
        batching.write_all(&long).await.unwrap();
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            server.read_to_end(&mut all).await.unwrap();
            all
        });
        batching.flush().await.unwrap();
        assert!(batching.pending.capacity() == 0, "buffer released");
        assert_eq!(
            progress.load(Ordering::Relaxed),
            212,
            "every byte taken is counted"
        );
        batching.shutdown().await.unwrap();
        drop(batching);
        let all = reader.await.unwrap();
        assert_eq!(&all[..12], b"first second");
        assert_eq!(all.len(), 212);
    }

    #[tokio::test]
    async fn vectored_writes_take_every_slice() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut batching = Batching::new(client, Arc::default());
        assert!(batching.is_write_vectored());
        let slices = [
            io::IoSlice::new(b"header|"),
            io::IoSlice::new(&[b'p'; 2000]),
        ];
        let taken = batching.write_vectored(&slices).await.unwrap();
        assert_eq!(taken, 2007);
        batching.flush().await.unwrap();
        let mut all = vec![0u8; 2007];
        server.read_exact(&mut all).await.unwrap();
        assert_eq!(&all[..7], b"header|");
        assert!(all[7..].iter().all(|b| *b == b'p'));
    }
}
