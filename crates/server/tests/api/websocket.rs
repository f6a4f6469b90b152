//! WebSocket limits: a client message over 16 KiB is answered with close code 1009 (message
//! too big), before and after authentication, not with a dropped connection.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use grandma_store::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::TestApp;

api_test!(oversized_messages_close_with_1009);

/// The close code the server ends the connection with after `message`.
async fn close_code_after(url: &str, message: Message) -> CloseCode {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket.send(message).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(received) = socket.next().await {
            match received {
                Ok(Message::Close(Some(frame))) => return frame.code,
                Ok(Message::Close(None)) => panic!("closed without a code"),
                Ok(_) => continue,
                Err(e) => panic!("dropped without a close frame: {e}"),
            }
        }
        panic!("the connection ended without a close frame")
    })
    .await
    .expect("closed promptly")
}

async fn oversized_messages_close_with_1009(app: &TestApp) {
    let (_, token) = app.user("socket@example.com", Role::User).await;
    let big = "x".repeat(20 * 1024);
    let authenticated = format!("ws://{}/api/v1/ws/user?token={token}", app.addr);
    let code = close_code_after(&authenticated, Message::text(big.clone())).await;
    assert_eq!(u16::from(code), 1009);
    let code = close_code_after(&authenticated, Message::binary(big.clone().into_bytes())).await;
    assert_eq!(u16::from(code), 1009);
    // As the first message, where the token would come.
    let anonymous = format!("ws://{}/api/v1/ws/user", app.addr);
    let code = close_code_after(&anonymous, Message::text(big)).await;
    assert_eq!(u16::from(code), 1009);
    // A ping of normal size is still answered.
    let (mut socket, _) = tokio_tungstenite::connect_async(&authenticated)
        .await
        .unwrap();
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong.into_text().unwrap().as_str(), r#"{"type":"pong"}"#);
}
