from __future__ import annotations

from httpx import AsyncClient

from app.models import User


async def test_register_returns_created_user(client: AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "New@Example.com", "password": "long enough pw", "display_name": "Newbie"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new@example.com"
    assert "hashed_password" not in body


async def test_register_twice_conflicts(client: AsyncClient, user: User) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": user.email, "password": "another password", "display_name": "Again"},
    )
    assert response.status_code == 409


async def test_login_with_wrong_password(client: AsyncClient, user: User) -> None:
    response = await client.post("/auth/login", json={"email": user.email, "password": "wrong password"})
    assert response.status_code == 401


async def test_me_requires_token(client: AsyncClient) -> None:
    response = await client.get("/auth/me")
    assert response.status_code == 401


async def test_me_with_token(client: AsyncClient, auth_headers: dict[str, str], user: User) -> None:
    response = await client.get("/auth/me", headers=auth_headers)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
