//! The build request's body: the context's tar archive, streamed in bounded chunks.

use std::io::{self, Write};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::context::Context;

/// Size of the pieces [`spawn_tar_stream`] sends.
const CHUNK: usize = 64 * 1024;
/// How many pieces may wait in the channel: bounds the memory of a stream.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The context as a streamed request body: a large context is never held in memory whole.
pub(super) fn tar_body(
    context: Context,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
    let chunks = spawn_tar_stream(context);
    futures_util::stream::unfold(chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((chunk.map(Bytes::from), chunks))
    })
}

/// Writes the archive on a thread of its own into a bounded channel, in pieces of
/// about 64 KiB, and returns the receiving end: the writer waits while the channel is
/// full, so the archive is never held in memory whole. An error ends the stream as
/// its last item; dropping the receiver stops the writer.
///
/// Call it from sync or async code alike; it needs no tokio runtime.
fn spawn_tar_stream(context: Context) -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let writer_sender = sender.clone();
    let spawned = std::thread::Builder::new()
        .name("dockside-context-tar".to_owned())
        .spawn(move || {
            let mut writer = ChunkWriter {
                sender: writer_sender,
                buffer: Vec::with_capacity(CHUNK),
            };
            let written = context.write_tar(&mut writer).map_err(io::Error::other);
            if let Err(e) = written.and_then(|writer| writer.flush()) {
                // The receiver may be gone already, which is why the writing stopped.
                let _ = writer.sender.blocking_send(Err(e));
            }
        });
    if let Err(e) = spawned {
        // The channel is new and empty, so there is room for this one item.
        let _ = sender.try_send(Err(e));
    }
    receiver
}

/// Cuts what is written into [`CHUNK`]-sized pieces and sends them, waiting while the
/// channel is full.
struct ChunkWriter {
    sender: mpsc::Sender<io::Result<Vec<u8>>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the receiver of the build context went away",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let taken = data.len().min(CHUNK - self.buffer.len());
        self.buffer.extend_from_slice(&data[..taken]);
        if self.buffer.len() == CHUNK {
            self.send()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;

    use super::*;
    use crate::image::context::testing::*;

    #[test]
    fn streams_a_large_context_in_bounded_chunks() {
        let dir = context_dir();
        let big: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        fs::write(dir.path().join("big.bin"), &big).unwrap();
        for i in 0..50 {
            write(dir.path(), &format!("small/{i:03}.txt"), &i.to_string());
        }
        let context = scan_dir(dir.path());
        let expected = context.write_tar(Vec::new()).unwrap();

        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut receiver = spawn_tar_stream(context);
        let chunks: Vec<Vec<u8>> = runtime.block_on(async {
            let mut chunks = Vec::new();
            while let Some(chunk) = receiver.recv().await {
                chunks.push(chunk.unwrap());
            }
            chunks
        });
        assert!(chunks.len() > 5 * 1024 * 1024 / CHUNK);
        assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
        let streamed = chunks.concat();
        assert_eq!(streamed, expected);
        let tar = read_tar(&streamed);
        assert_eq!(tar.iter().find(|e| e.0 == "big.bin").unwrap().4, big);
    }

    #[test]
    fn a_stream_ends_with_the_error() {
        let dir = context_dir();
        write(dir.path(), "data", "0123456789");
        let context = scan_dir(dir.path());
        write(dir.path(), "data", "0");
        let mut receiver = spawn_tar_stream(context);
        let mut last = None;
        while let Some(item) = receiver.blocking_recv() {
            last = Some(item);
        }
        let err = last.unwrap().unwrap_err().to_string();
        assert!(err.contains("shorter"), "{err}");
    }

    #[test]
    fn a_writer_whose_receiver_is_gone_fails() {
        let (sender, receiver) = mpsc::channel(1);
        let mut writer = ChunkWriter {
            sender,
            buffer: Vec::new(),
        };
        writer.write_all(&[1; CHUNK]).unwrap();
        drop(receiver);
        let err = writer.write_all(&[2; CHUNK]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
