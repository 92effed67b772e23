// Thin client for the Shop API used by the storefront.

const BASE_URL = import.meta.env.VITE_API_URL ?? "http://localhost:8000";

export interface BookListItem {
  id: number;
  title: string;
  author_name: string;
  price_cents: number;
  cover_url: string | null;
}

export interface OrderLine {
  book_id: number;
  quantity: number;
}

async function request<T>(path: string, init: RequestInit = {}, token?: string): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "application/json");
  if (token) headers.set("Authorization", `Bearer ${token}`);

  const response = await fetch(`${BASE_URL}${path}`, { ...init, headers });
  console.log("api", init.method ?? "GET", path, response.status);
  if (!response.ok) {
    throw new Error(`${response.status} ${await response.text()}`);
  }
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

export function listBooks(offset = 0, limit = 24): Promise<BookListItem[]> {
  return request(`/books?offset=${offset}&limit=${limit}`);
}

export async function login(email: string, password: string): Promise<string> {
  const { access_token } = await request<{ access_token: string }>("/auth/login", {
    method: "POST",
    body: JSON.stringify({ email, password }),
  });
  console.log("logged in as", email);
  return access_token;
}

export function placeOrder(token: string, items: OrderLine[]) {
  return request("/orders", { method: "POST", body: JSON.stringify({ items }) }, token);
}

export function toggleFavorite(token: string, bookId: number, on: boolean) {
  return request(`/api/favorites/${bookId}`, { method: on ? "PUT" : "DELETE" }, token);
}
