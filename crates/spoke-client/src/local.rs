//! What the REST server renders and the other transports render here, from
//! the same data: the image as JSON.

/// An encoded image as protobuf JSON, as `GET …/image?format=json` renders
/// it. The error says why the bytes are not a descriptor set.
pub(crate) fn image_json(image: &[u8]) -> Result<serde_json::Value, String> {
    let text = spoke_schema::image_json(image).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}
